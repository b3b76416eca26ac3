//! A truncated or damaged GGUF file is refused by ktstr's own header check, with a typed
//! error naming what is wrong, before llama.cpp is handed the file. Needs no model: the files
//! are small fakes.

use std::path::{Path, PathBuf};

use ktstr_llm::{Model, ModelLoadError};

/// llama.cpp's refusal starts with this; the header check's never does.
const LLAMA_REFUSED: &str = "llama.cpp refused it";

/// A GGUF header with one metadata entry and one F32 tensor of 8 elements, and its data.
fn fake_gguf() -> Vec<u8> {
    let string = |b: &mut Vec<u8>, s: &str| {
        b.extend((s.len() as u64).to_le_bytes());
        b.extend(s.as_bytes());
    };
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(1u64.to_le_bytes()); // tensors
    b.extend(1u64.to_le_bytes()); // metadata
    string(&mut b, "general.architecture");
    b.extend(8u32.to_le_bytes()); // string
    string(&mut b, "llama");
    string(&mut b, "token_embd.weight");
    b.extend(1u32.to_le_bytes()); // one dimension
    b.extend(8u64.to_le_bytes());
    b.extend(0u32.to_le_bytes()); // F32
    b.extend(0u64.to_le_bytes()); // offset
    b.resize(b.len().next_multiple_of(32), 0);
    b.extend([0x3f; 32]);
    b
}

fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Loads `path`, which must fail. The file is checked before the CPU, so
/// these checks run on any machine.
fn load_error(path: &Path) -> ModelLoadError {
    match Model::load(path) {
        Err(e) => e,
        Ok(model) => panic!("`{}` loaded: {model:?}", path.display()),
    }
}

/// The reason of a `Corrupt` error for `path`, which the message names with its hint.
fn corrupt_reason(err: ModelLoadError, path: &Path) -> String {
    let message = err.to_string();
    let ModelLoadError::Corrupt { path: p, reason } = err else {
        panic!("expected Corrupt, got {err:?}");
    };
    assert_eq!(p, path);
    assert!(
        message.contains(&format!("`{}`", path.display())),
        "{message}"
    );
    assert!(
        message.contains("hint: re-run scripts/fetch-model.sh"),
        "{message}"
    );
    reason
}

#[test]
fn truncated_gguf_is_refused_before_llama_cpp() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = fake_gguf();
    for len in [
        0,
        3,
        4,
        12,
        23,
        24,
        40,
        70,
        100,
        gguf.len() - 32,
        gguf.len() - 1,
    ] {
        let path = write_temp(dir.path(), &format!("cut-{len}.gguf"), &gguf[..len]);
        let err = load_error(&path);
        let reason = corrupt_reason(err, &path);
        assert!(!reason.contains(LLAMA_REFUSED), "cut at {len}: {reason}");
        let expected = if len < 4 {
            "shorter than a GGUF header"
        } else {
            "it is truncated"
        };
        assert!(reason.contains(expected), "cut at {len}: {reason}");
    }
}

#[test]
fn corrupted_gguf_is_refused_before_llama_cpp() {
    let dir = tempfile::tempdir().unwrap();
    // Offsets in fake_gguf: version, tensor count, first key length, value type, tensor dims.
    let cases: [(usize, &[u8], &str); 6] = [
        (4, &[7, 0, 0, 0], "it is GGUF version 7"),
        (8, &[0xff; 8], "impossible"),
        (24, &[0xff; 8], "more than llama.cpp's limit"),
        (52, &[42, 0, 0, 0], "unknown type 42"),
        (77 + 17, &[9, 0, 0, 0], "has 9 dimensions"),
        (
            77 + 17 + 4,
            &[0, 0, 0, 0, 1, 0, 0, 0],
            "the data of tensor `token_embd.weight`",
        ),
    ];
    for (i, (at, bytes, expected)) in cases.into_iter().enumerate() {
        let mut gguf = fake_gguf();
        gguf[at..at + bytes.len()].copy_from_slice(bytes);
        let path = write_temp(dir.path(), &format!("corrupt-{i}.gguf"), &gguf);
        let err = load_error(&path);
        let reason = corrupt_reason(err, &path);
        assert!(!reason.contains(LLAMA_REFUSED), "case {i}: {reason}");
        assert!(reason.contains(expected), "case {i}: {reason}");
    }
}

/// A structurally whole file gets past the check; llama.cpp then refuses it (no
/// hyperparameters), without crashing.
#[test]
fn whole_fake_gguf_reaches_llama_cpp() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(dir.path(), "whole.gguf", &fake_gguf());
    match load_error(&path) {
        // A CPU llama.cpp cannot run on stops the load there, typed.
        ModelLoadError::UnsupportedCpu { .. } => {}
        err => {
            let reason = corrupt_reason(err, &path);
            assert!(reason.starts_with(LLAMA_REFUSED), "{reason}");
        }
    }
}

/// A file in the pinned model's name that is not the pinned model (here a whole fake that
/// passes the header walk) is refused by its SHA-256 before llama.cpp sees it.
#[test]
fn a_damaged_pinned_model_is_refused_by_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(dir.path(), ktstr_llm::MODEL_FILE_NAME, &fake_gguf());
    let err = load_error(&path);
    let reason = corrupt_reason(err, &path);
    assert!(reason.contains("its SHA-256 is"), "{reason}");
    assert!(reason.contains(ktstr_llm::MODEL_SHA256), "{reason}");
    assert!(
        !dir.path()
            .join(format!("{}.verified", ktstr_llm::MODEL_FILE_NAME))
            .exists(),
        "no stamp for a file that failed"
    );
}

//! Prints the candidates the reader finds in a file (or stdin), and how each
//! given hint resolves: `cargo run -p ktstr-llm-candidates --example
//! candidates -- FILE [HINT...]`.

use std::io::Read;

use ktstr_llm_candidates::{read, resolve};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: candidates FILE|- [HINT...]")?;
    let mut text = String::new();
    if path == "-" {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(&path)?;
    }
    let candidates = read(&text);
    for c in &candidates {
        println!(
            "c{:<3} l{:<3} {:>14} {:<8} {}{}",
            c.id,
            c.line,
            c.written,
            c.unit.as_deref().unwrap_or("-"),
            if c.is_id { "[id] " } else { "" },
            c.label_text()
        );
    }
    for hint in args {
        println!("{hint}: {:?}", resolve(&hint, &candidates));
    }
    Ok(())
}

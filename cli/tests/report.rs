//! `ktstr run --html/--junit` against a real run, the HTML opened in
//! headless Chromium (Debian's `chromium`): the plots are in the rendered
//! DOM with drawn elements, the screenshot is not blank, no script error;
//! the JUnit file has the structure CI systems read.

mod common;

use std::path::Path;
use std::process::Command;

use common::run;

fn chromium_missing() -> Option<String> {
    match Command::new("chromium").arg("--version").output() {
        Ok(o) if o.status.success() => None,
        _ => {
            Some("chromium is not installed (apt-get install chromium, or scripts/setup.sh)".into())
        }
    }
}

fn chromium(args: &[&str], page: &Path) -> std::process::Output {
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args(["--enable-logging=stderr", "--v=0"])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("spawn chromium")
}

/// The share of pixels in the PNG that are not white.
fn inked_share(png_path: &Path) -> f64 {
    let decoder = png::Decoder::new(std::fs::File::open(png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let bytes = &buf[..info.buffer_size()];
    let inked = bytes
        .chunks(px)
        .filter(|p| p.iter().take(3).any(|&c| c < 200))
        .count();
    inked as f64 / (bytes.len() / px) as f64
}

fn a_cpuset_swap_report_renders_its_plots_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let (html, xml, results) = (
        dir.path().join("r.html"),
        dir.path().join("r.xml"),
        dir.path().join("results"),
    );
    let out = run(&[
        "run",
        "-s",
        "scx_simple",
        "-c",
        "cpuset-swap",
        "--html",
        html.to_str().unwrap(),
        "--junit",
        xml.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    // Self-contained: no script, nothing fetched (SVG's xmlns is a name, not a fetch).
    for fetch in [
        "<script",
        "src=\"http",
        "href=\"http",
        "url(http",
        "@import",
    ] {
        assert!(!page.contains(fetch), "the report contains `{fetch}`");
    }

    let dom = chromium(&["--dump-dom"], &html);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    let log = String::from_utf8_lossy(&dom.stderr);
    assert!(dom.status.success(), "{log}");
    assert!(
        !log.contains("Uncaught") && !log.contains("SyntaxError"),
        "script errors: {log}"
    );
    for class in ["plot progress", "plot occupancy"] {
        let at = dom_text
            .find(&format!("<figure class=\"{class}\">"))
            .unwrap_or_else(|| panic!("no {class} figure in {dom_text}"));
        let figure = &dom_text[at..at + dom_text[at..].find("</figure>").unwrap()];
        assert!(figure.contains("<svg"), "{class}: no svg");
        let drawn = figure.matches("<rect").count()
            + figure.matches("<polyline").count()
            + figure.matches("<path").count();
        assert!(drawn > 10, "{class}: only {drawn} drawn elements");
    }
    // The occupancy plot shows the swap: the step is drawn as a line.
    assert!(page.contains("2 step(s), drawn as black lines"), "{page}");

    let shot = dir.path().join("r.png");
    let s = chromium(
        &[
            "--window-size=1100,1800",
            &format!("--screenshot={}", shot.display()),
        ],
        &html,
    );
    assert!(
        s.status.success() && shot.is_file(),
        "{}",
        String::from_utf8_lossy(&s.stderr)
    );
    let inked = inked_share(&shot);
    assert!(
        inked > 0.02,
        "the screenshot is nearly blank ({:.1}% inked)",
        inked * 100.0
    );

    let junit = std::fs::read_to_string(&xml).unwrap();
    assert!(junit.starts_with("<?xml"), "{junit}");
    for needle in [
        "<testsuites name=\"ktstr run\"",
        "tests=\"1\"",
        "<testsuite name=\"cpuset-swap\"",
        "<testcase name=\"scx_simple on 1n2l2c1t\"",
        "classname=\"ktstr.cpuset-swap\"",
        "time=\"",
        "</testsuites>",
    ] {
        assert!(junit.contains(needle), "JUnit lacks `{needle}`:\n{junit}");
    }
    assert!(!junit.contains("<failure"), "{junit}");
}

fn main() {
    common::main(common::cases![
        [common::vm_missing, chromium_missing] a_cpuset_swap_report_renders_its_plots_in_chromium,
    ]);
}

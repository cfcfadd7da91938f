//! Human output: a golden file for a fixed input (no color, elapsed time normalised), color only
//! when asked or on a terminal without NO_COLOR, control characters escaped, `--quiet`.
//! Set `SLUICE_BLESS=1` to rewrite the golden files after an intended change.

use std::path::Path;
use std::process::{Command, Output};

use crate::util::{self, Rng};

/// The fixed input of the golden tests: secrets made at test time from a fixed seed (so the
/// output is stable) in a fresh directory. Returns the directory.
pub fn golden_fixture() -> tempfile::TempDir {
    let dir = util::tempdir();
    let mut rng = Rng::new(6);
    let acme = |rng: &mut Rng| format!("acme_{}", rng.alnum(24));
    let ghg = |rng: &mut Rng| format!("ghg_{}", rng.alnum(36));
    let files: Vec<(String, String)> = vec![
        (
            "app/config.py".into(),
            format!(
                "import os\n\nAPI_KEY = \"{}\"\npassword = \"{}\"\nDB = \"https://db1.internal.example/\"\n",
                acme(&mut rng),
                rng.alnum(12)
            ),
        ),
        ("app/.env".into(), format!("GH={}\n", ghg(&mut rng))),
        ("lib/clean.js".into(), "module.exports = 1;\n".into()),
        ("test/fixtures/keys.txt".into(), format!("{}  # fixture\n", acme(&mut rng))),
        ("odd\x1b[31mname.txt".into(), format!("token: {}\n", ghg(&mut rng))),
        ("allowed.py".into(), format!("K = '{}'  # sluice:allow\n", acme(&mut rng))),
    ];
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// Runs sluice in `dir` with the golden rule set and `args`.
pub fn run_golden(dir: &Path, args: &[&str]) -> Output {
    let rules = util::root().join("tests/golden/rules.toml");
    Command::new(util::bin())
        .current_dir(dir)
        .args(["scan", ".", "--no-builtin-rules", "--rules"])
        .arg(&rules)
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

/// Compares `actual` with `tests/golden/NAME`, or rewrites it under `SLUICE_BLESS=1`.
pub fn check_golden(name: &str, actual: &str) {
    let path = util::root().join("tests/golden").join(name);
    if std::env::var_os("SLUICE_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let want =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (SLUICE_BLESS=1 writes it)", path.display()));
    assert!(
        want == actual,
        "{name} differs from the golden file (SLUICE_BLESS=1 rewrites it)\n--- want\n{want}\n--- got\n{actual}"
    );
}

/// The elapsed time at the end of the summary line, replaced by `0.00s`.
fn normalise(text: &str) -> String {
    text.lines()
        .map(|l| match l.rsplit_once(", ") {
            Some((head, t)) if t.ends_with('s') && t[..t.len() - 1].parse::<f64>().is_ok() => format!("{head}, 0.00s"),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn golden_human() {
    let dir = golden_fixture();
    let out = run_golden(dir.path(), &["--color", "never"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\x1b'), "no escape may reach the terminal: {text:?}");
    check_golden("scan.txt", &normalise(&text));
}

#[test]
fn color_only_when_asked() {
    let dir = golden_fixture();
    let always = run_golden(dir.path(), &["--color", "always"]);
    let text = String::from_utf8_lossy(&always.stdout);
    assert!(text.contains("\x1b[31mhigh\x1b[0m"), "{text}");
    // The name's own escape sequence stays escaped even with color on.
    assert!(text.contains("odd\\x{1b}[31mname.txt"), "{text}");
    // Piped: auto means none.
    let auto = run_golden(dir.path(), &[]);
    assert!(!String::from_utf8_lossy(&auto.stdout).contains('\x1b'));
}

#[test]
fn quiet_drops_the_summary_only() {
    let dir = golden_fixture();
    let out = run_golden(dir.path(), &["--quiet"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("acme.api-key"), "{text}");
    assert!(!text.contains(" skipped, "), "{text}");
    let clean = util::tempdir();
    std::fs::write(clean.path().join("a.txt"), "nothing\n").unwrap();
    let out = run_golden(clean.path(), &["--quiet"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
}

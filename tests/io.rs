//! Reading files: a huge single-line file scans in bounded memory (peak RSS of the child process
//! polled from /proc), exit codes for clean trees and missing paths.

use std::io::Write;

use crate::util::{self, Rng};

#[test]
fn a_100_mb_single_line_file_scans_in_bounded_memory() {
    let dir = util::tempdir();
    let mut rng = Rng::new(42);
    let token = util::github_token(&mut rng, "ghp_");
    let path = dir.path().join("one-line.min.js");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let chunk: Vec<u8> = (0..(1 << 20)).map(|i| b"abcdefghij0123456789+/="[i % 23]).collect();
    for i in 0..100 {
        if i == 50 {
            write!(f, "var t=\"{token}\";").unwrap();
        }
        f.write_all(&chunk).unwrap();
    }
    write!(f, ";k=\"{token}\"").unwrap();
    drop(f);
    let (code, out, rss_kib) =
        util::run_measured(&["scan", path.to_str().unwrap(), "--format", "jsonl", "--threads", "2"]);
    let recs = util::jsonl(&out);
    let findings: Vec<_> = recs.iter().filter(|r| r["kind"] == "finding").collect();
    assert_eq!(code, 1);
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert!(findings.iter().all(|f| f["line"] == 1));
    // The file is 100 MiB; streaming keeps the process far below that.
    assert!(rss_kib < 80 * 1024, "peak RSS {rss_kib} KiB for a 100 MiB single-line file");
}

#[test]
fn exit_codes() {
    let dir = util::tempdir();
    std::fs::write(dir.path().join("clean.txt"), "hello world\n").unwrap();
    let clean = util::sluice(&["scan", dir.path().to_str().unwrap()]);
    assert_eq!(clean.status.code(), Some(0), "{}", String::from_utf8_lossy(&clean.stdout));
    let missing = util::sluice(&["scan", "/nonexistent/sluice/path"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/sluice/path"));
    let usage = util::sluice(&["scan", "--format", "nope"]);
    assert_eq!(usage.status.code(), Some(2));
    let mut rng = Rng::new(1);
    std::fs::write(dir.path().join("leak.py"), format!("T = '{}'\n", util::github_token(&mut rng, "ghp_"))).unwrap();
    let found = util::sluice(&["scan", dir.path().to_str().unwrap()]);
    assert_eq!(found.status.code(), Some(1));
}

//! Where a finding sits, as a reader would judge it (issue 11): test code and fixtures, docs, or
//! examples; no label means shipped runtime code. Judged from the location (directory and file
//! names below the scan root, archive members included) and, for a few languages, from the text
//! around the finding (Rust `#[cfg(test)]` modules and doc comments, Python docstrings).
//!
//! A label never hides a finding; it lets `--context`, `--fail-on` users and `preflight` treat a
//! fixture differently from runtime code.

use std::path::{Path, PathBuf};

use crate::input::Chain;

/// Where a finding sits, when it is not shipped runtime code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// Test code or fixtures.
    Test,
    /// Documentation: `docs/`, README and other prose files, doc comments and docstrings.
    Docs,
    /// Example and demo code.
    Example,
}

impl Context {
    /// Every label, in the order summaries list them.
    pub const ALL: [Context; 3] = [Context::Test, Context::Docs, Context::Example];

    /// The name used in records (`"context": "test"`) and by `--context`.
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Test => "test",
            Context::Docs => "docs",
            Context::Example => "example",
        }
    }

    /// The label named `name`, if any.
    pub fn parse(name: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name `--context` uses for findings with no label.
pub const RUNTIME: &str = "runtime";

/// Directory names whose contents are test code or fixtures.
const TEST_DIRS: &[&[u8]] = &[
    b"test",
    b"tests",
    b"testing",
    b"__tests__",
    b"__test__",
    b"fixtures",
    b"fixture",
    b"__fixtures__",
    b"__mocks__",
    b"mocks",
    b"spec",
    b"specs",
    b"testdata",
    b"test-data",
    b"test_data",
    b"testcases",
    b"e2e",
    b"dummyserver",
    b"testutils",
    b"test-utils",
    b"test_utils",
];
/// Directory names whose contents are documentation.
const DOCS_DIRS: &[&[u8]] = &[b"docs", b"doc", b"documentation", b"man", b"_docs", b"website", b"guide", b"guides"];
/// Directory names whose contents are examples.
const EXAMPLE_DIRS: &[&[u8]] =
    &[b"examples", b"example", b"samples", b"sample", b"demo", b"demos", b"_examples", b"example-app", b"cookbook"];

/// The label of a finding at `offset` in `bytes`, the content of the unit at `chain`. `roots` are
/// the scan roots: directories above them do not count (`/home/me/tests/pkg` as a root does not
/// make every finding a test finding).
pub fn of(chain: &Chain, roots: &[PathBuf], bytes: Option<(&[u8], usize)>) -> Option<Context> {
    let below = below_root(&chain.path, roots);
    let path = below.as_os_str().as_encoded_bytes();
    let parts: Vec<&[u8]> = path
        .split(|&b| b == b'/' || b == b'\\')
        .chain(chain.members.iter().flat_map(|m| m.split(|&b| b == b'/')))
        .filter(|p| !p.is_empty())
        .collect();
    let (file, dirs) = parts.split_last()?;
    let dir_label = |lower: &[u8]| {
        if TEST_DIRS.contains(&lower) || is_test_dir(lower) {
            Some(Context::Test)
        } else if EXAMPLE_DIRS.contains(&lower) {
            Some(Context::Example)
        } else if DOCS_DIRS.contains(&lower) {
            Some(Context::Docs)
        } else {
            None
        }
    };
    let mut label = None;
    for dir in dirs {
        match dir_label(&dir.to_ascii_lowercase()) {
            Some(Context::Test) => return Some(Context::Test),
            Some(l) if label.is_none() => label = Some(l),
            _ => {}
        }
    }
    if is_test_file(file) {
        return Some(Context::Test);
    }
    if let Some((bytes, offset)) = bytes
        && let Some(l) = from_text(file, bytes, offset)
    {
        return if l == Context::Test { Some(Context::Test) } else { label.or(Some(l)) };
    }
    label
        .or_else(|| is_example_file(file).then_some(Context::Example))
        .or_else(|| is_docs_file(file).then_some(Context::Docs))
}

/// `examples-1.json`, `iam.examples.json`, `config.example.yml`, `settings.sample.py`.
fn is_example_file(name: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    let stem = memchr::memrchr(b'.', &lower).map_or(&lower[..], |i| &lower[..i]);
    [&b"example"[..], b"examples", b"sample", b"samples"].iter().any(|w| {
        stem == *w
            || stem.starts_with(&[w, &b"-"[..]].concat())
            || stem.starts_with(&[w, &b"_"[..]].concat())
            || stem.ends_with(&[&b"."[..], w].concat())
            || stem.ends_with(&[&b"_"[..], w].concat())
            || stem.ends_with(&[&b"-"[..], w].concat())
    })
}

/// `path` relative to the closest root it lies under (or `path` itself).
fn below_root<'a>(path: &'a Path, roots: &[PathBuf]) -> &'a Path {
    roots.iter().filter_map(|r| path.strip_prefix(r).ok()).min_by_key(|rel| rel.as_os_str().len()).unwrap_or(path)
}

/// `test_creds`, `unit-tests`, `integration_test`: a directory named for tests.
fn is_test_dir(lower: &[u8]) -> bool {
    lower.starts_with(b"test_")
        || lower.starts_with(b"test-")
        || lower.starts_with(b"tests_")
        || lower.ends_with(b"_test")
        || lower.ends_with(b"-test")
        || lower.ends_with(b"_tests")
        || lower.ends_with(b"-tests")
}

/// `client_test.go`, `test_api.py`, `conftest.py`, `app.test.ts`, `user_spec.rb`, `FooTest.java`.
fn is_test_file(name: &[u8]) -> bool {
    let (stem, ext) = match memchr::memrchr(b'.', name) {
        Some(i) if i > 0 => (&name[..i], &name[i + 1..]),
        _ => (name, &b""[..]),
    };
    let lower = stem.to_ascii_lowercase();
    if lower.ends_with(b"_test") || lower.ends_with(b"_tests") || lower.ends_with(b"_spec") || lower == b"conftest" {
        return true;
    }
    if (ext == b"py" && lower.starts_with(b"test_")) || lower.starts_with(b"testing_") || lower == b"testing" {
        return true;
    }
    // `app.test.ts`, `api.spec.js`
    if lower.ends_with(b".test") || lower.ends_with(b".spec") {
        return true;
    }
    // JVM and .NET convention: `ClientTest.java`, `ClientTests.cs` (case-sensitive, so `Contest`
    // and `latest` stay runtime code).
    matches!(ext, b"java" | b"kt" | b"scala" | b"groovy" | b"cs")
        && (stem.ends_with(b"Test") || stem.ends_with(b"Tests") || stem.ends_with(b"Spec"))
}

/// README, CHANGELOG and prose formats.
fn is_docs_file(name: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    ["readme", "changelog", "changes", "history", "contributing"].iter().any(|p| lower.starts_with(p.as_bytes()))
        || [".md", ".markdown", ".rst", ".adoc", ".asciidoc", ".mdx", ".rdoc"]
            .iter()
            .any(|e| lower.ends_with(e.as_bytes()))
}

/// Labels read from the text around `offset`: Rust test modules and doc comments, Python
/// docstrings.
fn from_text(file: &[u8], bytes: &[u8], offset: usize) -> Option<Context> {
    let offset = offset.min(bytes.len());
    if file.ends_with(b".rs") {
        let before = &bytes[..offset];
        // Test modules go last in a Rust file by convention: everything after the first
        // `#[cfg(test)]` that opens a module is test code.
        if memchr::memmem::find_iter(before, b"#[cfg(").any(|i| opens_test_module(&before[i..])) {
            return Some(Context::Test);
        }
        let line = line_start(bytes, offset);
        let lead = bytes[line..offset].trim_ascii_start();
        if lead.starts_with(b"///") || lead.starts_with(b"//!") {
            return Some(Context::Docs);
        }
    } else if file.ends_with(b".py") && in_docstring(bytes, offset) {
        return Some(Context::Docs);
    }
    None
}

/// True when `text` starts with a `#[cfg(test)]` or `#[cfg(all(test, ...))]` attribute on a
/// module (`mod tests {`, possibly after more attributes).
fn opens_test_module(text: &[u8]) -> bool {
    let Some(end) = memchr::memchr(b']', &text[..text.len().min(160)]) else { return false };
    let attr = &text[..=end];
    let test = attr == b"#[cfg(test)]"
        || (attr.starts_with(b"#[cfg(all(")
            && memchr::memmem::find(attr, b"test").is_some()
            && memchr::memmem::find(attr, b"not(test").is_none());
    if !test {
        return false;
    }
    let mut rest = text[end + 1..].trim_ascii_start();
    while rest.starts_with(b"#[") {
        let Some(close) = memchr::memchr(b']', &rest[..rest.len().min(200)]) else { return false };
        rest = rest[close + 1..].trim_ascii_start();
    }
    rest.starts_with(b"mod ") || rest.starts_with(b"pub mod ") || rest.starts_with(b"pub(crate) mod ")
}

fn line_start(bytes: &[u8], offset: usize) -> usize {
    memchr::memrchr(b'\n', &bytes[..offset]).map_or(0, |i| i + 1)
}

/// True when `offset` is inside a triple-quoted string that opens a module, class or function
/// body (the first statement after a line ending in `:`, or at the top of the file).
fn in_docstring(bytes: &[u8], offset: usize) -> bool {
    let before = &bytes[..offset];
    let mut open = None;
    let mut at = 0;
    // Triple quotes toggle; the last unmatched one before `offset` opens the string we are in.
    while at < before.len() {
        let next = [&b"\"\"\""[..], b"'''"]
            .iter()
            .filter_map(|q| memchr::memmem::find(&before[at..], q).map(|i| (i, *q)))
            .min();
        let Some((i, q)) = next else { break };
        let start = at + i;
        let Some(close) = memchr::memmem::find(&before[start + 3..], q) else {
            open = Some(start);
            break;
        };
        at = start + 3 + close + 3;
    }
    let Some(open) = open else { return false };
    let ls = line_start(bytes, open);
    let prefix = &bytes[ls..open];
    let prefix_ok = prefix.iter().all(|b| matches!(b, b' ' | b'\t' | b'r' | b'u' | b'R' | b'U'));
    if !prefix_ok {
        return false;
    }
    let prev = bytes[..ls].trim_ascii_end();
    prev.is_empty() || prev.ends_with(b":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(path: &str, members: &[&str]) -> Option<Context> {
        let chain =
            Chain { path: PathBuf::from(path), members: members.iter().map(|m| m.as_bytes().to_vec()).collect() };
        of(&chain, &[], None)
    }

    #[test]
    fn by_location() {
        let cases: &[(&str, &[&str], Option<Context>)] = &[
            ("src/app.py", &[], None),
            ("tests/a.py", &[], Some(Context::Test)),
            ("pkg/test_creds/creds.py", &[], Some(Context::Test)),
            ("lib/client_test.py", &[], Some(Context::Test)),
            ("lib/test_client.py", &[], Some(Context::Test)),
            ("x/client_test.go", &[], Some(Context::Test)),
            ("x/client_test.cc", &[], Some(Context::Test)),
            ("web/app.test.ts", &[], Some(Context::Test)),
            ("src/ClientTest.java", &[], Some(Context::Test)),
            ("src/Contest.java", &[], None),
            ("src/latest.py", &[], None),
            ("urllib3/dummyserver/certs/server.key", &[], Some(Context::Test)),
            ("pkg/testing/keys.go", &[], Some(Context::Test)),
            ("docs/guide.md", &[], Some(Context::Docs)),
            ("README.md", &[], Some(Context::Docs)),
            ("examples/app.js", &[], Some(Context::Example)),
            ("botocore/data/iam/2010-05-08/examples-1.json", &[], Some(Context::Example)),
            ("apis/kms-2014-11-01.examples.json", &[], Some(Context::Example)),
            ("config.example.yml", &[], Some(Context::Example)),
            ("src/transformers/testing_utils.py", &[], Some(Context::Test)),
            ("src/resample.py", &[], None),
            ("examples/tests/app.js", &[], Some(Context::Test)),
            ("pkg.tgz", &["package/test/x.js"], Some(Context::Test)),
            ("pkg.tgz", &["package/lib/x.js"], None),
            ("pkg.tgz", &["package/README.md"], Some(Context::Docs)),
            ("test", &[], None),
            ("a/contest/b.js", &[], None),
            ("x.tgz", &["package/__tests__/k.js"], Some(Context::Test)),
        ];
        for &(path, members, want) in cases {
            assert_eq!(label(path, members), want, "{path} {members:?}");
        }
    }

    #[test]
    fn below_the_root_only() {
        let chain = Chain { path: PathBuf::from("/srv/test/pkg/lib/x.js"), members: vec![] };
        assert_eq!(of(&chain, &[PathBuf::from("/srv/test/pkg")], None), None);
        assert_eq!(of(&chain, &[], None), Some(Context::Test));
    }

    #[test]
    fn by_text() {
        let rs = "#[cfg(any(feature = \"std\", test))]\nmod imp;\npub fn f() {}\n/// let t = \"KEY\";\npub fn g() {}\n#[cfg(all(test, feature = \"std\"))]\n#[allow(unused)]\nmod tests {\n    const T: &str = \"KEY\";\n}\n";
        let chain = Chain { path: PathBuf::from("crate/src/lib.rs"), members: vec![] };
        let at = |s: &str, n: usize| s.match_indices("KEY").nth(n).unwrap().0;
        assert_eq!(of(&chain, &[], Some((rs.as_bytes(), at(rs, 0)))), Some(Context::Docs));
        assert_eq!(of(&chain, &[], Some((rs.as_bytes(), at(rs, 1)))), Some(Context::Test));
        assert_eq!(of(&chain, &[], Some((rs.as_bytes(), 3))), None);

        let py = "\"\"\"Module.\n\n    client = Client(\"KEY\")\n\"\"\"\nTOKEN = \"KEY\"\ndef f():\n    '''Use KEY here.'''\n    x = \"\"\"KEY\"\"\"\n";
        let chain = Chain { path: PathBuf::from("pkg/hub.py"), members: vec![] };
        assert_eq!(of(&chain, &[], Some((py.as_bytes(), at(py, 0)))), Some(Context::Docs));
        assert_eq!(of(&chain, &[], Some((py.as_bytes(), at(py, 1)))), None);
        assert_eq!(of(&chain, &[], Some((py.as_bytes(), at(py, 2)))), Some(Context::Docs));
        assert_eq!(of(&chain, &[], Some((py.as_bytes(), at(py, 3)))), None);
    }
}

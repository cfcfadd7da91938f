//! Credential files recognised by name (issue 5): `.env`, `.npmrc` with a token, `.pypirc` with a
//! password, `.netrc`, private keys, keystores, Terraform state, Docker and Kubernetes client
//! configs, `.htpasswd`, GCP service-account keys, shell history. Most names need a content
//! condition too (an `.npmrc` that only points at a registry is no leak); [`Kind::holds`] checks
//! it on the first [`CONTENT_CAP`] bytes. The secrets inside are found separately by the content
//! rules, so a credential file is reported once (line null) plus one finding per secret.

/// Bytes of a streamed credential file read to evaluate its content condition.
pub const CONTENT_CAP: usize = 1 << 20;

/// A kind of credential file, each reported under its own rule id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `.env`, `.env.production`, … (not `.env.example` and other templates).
    Dotenv,
    /// `.npmrc` with `_authToken`, `_auth` or `_password`.
    Npmrc,
    /// `.pypirc` with a password.
    Pypirc,
    /// `.netrc` / `_netrc` with a password.
    Netrc,
    /// `.git-credentials`.
    GitCredentials,
    /// `id_rsa`, `id_ed25519`, `*.pem`, `*.key`, `*.ppk` holding a private key.
    PrivateKey,
    /// `*.p12`, `*.pfx`, `*.jks`, `*.keystore`.
    Keystore,
    /// `terraform.tfstate`, `terraform.tfstate.backup`, `*.tfstate`.
    TerraformState,
    /// `.docker/config.json` or `.dockercfg` with registry auths.
    DockerConfig,
    /// A kubeconfig with a token or an inline client key.
    Kubeconfig,
    /// `.htpasswd`.
    Htpasswd,
    /// `credentials.json` / `service-account*.json` holding a private key.
    GcpServiceAccount,
    /// Shell and REPL history files.
    ShellHistory,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 13] = [
        Kind::Dotenv,
        Kind::Npmrc,
        Kind::Pypirc,
        Kind::Netrc,
        Kind::GitCredentials,
        Kind::PrivateKey,
        Kind::Keystore,
        Kind::TerraformState,
        Kind::DockerConfig,
        Kind::Kubeconfig,
        Kind::Htpasswd,
        Kind::GcpServiceAccount,
        Kind::ShellHistory,
    ];

    /// The rule id findings of this kind are reported under (`rules/checks.toml`).
    pub fn rule_id(self) -> &'static str {
        match self {
            Kind::Dotenv => "credential-file.dotenv",
            Kind::Npmrc => "credential-file.npmrc",
            Kind::Pypirc => "credential-file.pypirc",
            Kind::Netrc => "credential-file.netrc",
            Kind::GitCredentials => "credential-file.git-credentials",
            Kind::PrivateKey => "credential-file.private-key",
            Kind::Keystore => "credential-file.keystore",
            Kind::TerraformState => "credential-file.terraform-state",
            Kind::DockerConfig => "credential-file.docker-config",
            Kind::Kubeconfig => "credential-file.kubeconfig",
            Kind::Htpasswd => "credential-file.htpasswd",
            Kind::GcpServiceAccount => "credential-file.gcp-service-account",
            Kind::ShellHistory => "credential-file.shell-history",
        }
    }

    /// The kind of credential file at `path` (`/`-separated, the innermost name of a chain), by
    /// name alone. Cheap: called for every unit.
    pub fn classify(path: &[u8]) -> Option<Kind> {
        // Extensions that may name a credential file; any other (source files, documents) is a
        // fast exit, without allocating.
        const CANDIDATES: &[&[u8]] = &[
            b"pem",
            b"key",
            b"ppk",
            b"p12",
            b"pfx",
            b"jks",
            b"keystore",
            b"tfstate",
            b"backup",
            b"json",
            b"kubeconfig",
            b"yaml",
            b"yml",
        ];
        let (parent, base) = split_last(path);
        let ext = base.iter().rposition(|&b| b == b'.').map(|i| &base[i + 1..]);
        if let Some(ext) = ext
            && base.first() != Some(&b'.')
            && !CANDIDATES.iter().any(|c| ext.eq_ignore_ascii_case(c))
        {
            return None;
        }
        match base {
            b".env" => return Some(Kind::Dotenv),
            b".npmrc" => return Some(Kind::Npmrc),
            b".pypirc" => return Some(Kind::Pypirc),
            b".netrc" | b"_netrc" => return Some(Kind::Netrc),
            b".git-credentials" => return Some(Kind::GitCredentials),
            b"id_rsa" | b"id_dsa" | b"id_ecdsa" | b"id_ed25519" | b"id_ecdsa_sk" | b"id_ed25519_sk" => {
                return Some(Kind::PrivateKey);
            }
            b"terraform.tfstate" | b"terraform.tfstate.backup" => return Some(Kind::TerraformState),
            b".dockercfg" => return Some(Kind::DockerConfig),
            b"config.json" if last_component(parent) == b".docker" => return Some(Kind::DockerConfig),
            b"config" if last_component(parent) == b".kube" => return Some(Kind::Kubeconfig),
            b"kubeconfig" | b"kubeconfig.yaml" | b"kubeconfig.yml" | b".kubeconfig" => return Some(Kind::Kubeconfig),
            b".htpasswd" => return Some(Kind::Htpasswd),
            b"credentials.json" => return Some(Kind::GcpServiceAccount),
            b".bash_history"
            | b".zsh_history"
            | b".sh_history"
            | b".history"
            | b"fish_history"
            | b".psql_history"
            | b".mysql_history"
            | b".sqlite_history"
            | b".rediscli_history"
            | b".node_repl_history"
            | b".python_history" => {
                return Some(Kind::ShellHistory);
            }
            _ => {}
        }
        if let Some(suffix) = base.strip_prefix(b".env.") {
            return (!is_template_suffix(suffix)).then_some(Kind::Dotenv);
        }
        if base.starts_with(b"service-account") || base.starts_with(b"service_account") {
            return ext.is_some_and(|e| e.eq_ignore_ascii_case(b"json")).then_some(Kind::GcpServiceAccount);
        }
        match ext.map(<[u8]>::to_ascii_lowercase).as_deref() {
            Some(b"pem" | b"key" | b"ppk") => Some(Kind::PrivateKey),
            Some(b"p12" | b"pfx" | b"jks" | b"keystore") => Some(Kind::Keystore),
            Some(b"tfstate") => Some(Kind::TerraformState),
            Some(b"kubeconfig") => Some(Kind::Kubeconfig),
            _ => None,
        }
    }

    /// True when the content makes the file a leak. `head` is the whole file, or its first
    /// [`CONTENT_CAP`] bytes for a larger streamed one.
    pub fn holds(self, head: &[u8]) -> bool {
        match self {
            Kind::Dotenv => lines(head).any(|l| assignment(l).is_some_and(|(_, v)| !unquote(v).is_empty())),
            Kind::Npmrc => lines(head).any(|l| {
                assignment(l).is_some_and(|(k, v)| {
                    let k = k.rsplit(|&b| b == b':').next().unwrap_or(k);
                    matches!(k, b"_authToken" | b"_auth" | b"_password") && is_value(v)
                })
            }),
            Kind::Pypirc => lines(head)
                .any(|l| assignment(l).is_some_and(|(k, v)| k.eq_ignore_ascii_case(b"password") && is_value(v))),
            Kind::Netrc => {
                let mut words = head.split(u8::is_ascii_whitespace).filter(|w| !w.is_empty());
                while let Some(w) = words.next() {
                    if w == b"password" && words.next().is_some_and(is_value) {
                        return true;
                    }
                }
                false
            }
            Kind::GitCredentials => lines(head).any(url_has_password),
            Kind::PrivateKey => has_private_key(head),
            Kind::Keystore | Kind::TerraformState | Kind::ShellHistory => !head.trim_ascii().is_empty(),
            Kind::DockerConfig => {
                // `"auths": {"host": {"auth": "base64"}}`; credential helpers leave `auth` out.
                json_string_values(head, b"\"auth\"").any(|v| !v.is_empty())
                    || json_string_values(head, b"\"identitytoken\"").any(|v| !v.is_empty())
            }
            Kind::Kubeconfig => lines(head).any(|l| {
                let l = l.trim_ascii_start().strip_prefix(b"- ").unwrap_or(l.trim_ascii_start());
                let Some(colon) = memchr::memchr(b':', l) else { return false };
                let (k, v) = (l[..colon].trim_ascii(), l[colon + 1..].trim_ascii());
                matches!(k, b"token" | b"client-key-data" | b"password" | b"id-token" | b"refresh-token") && is_value(v)
            }),
            Kind::Htpasswd => lines(head).any(|l| {
                let l = l.trim_ascii();
                !l.starts_with(b"#") && memchr::memchr(b':', l).is_some_and(|i| i > 0 && i + 1 < l.len())
            }),
            Kind::GcpServiceAccount => {
                memchr::memmem::find(head, b"\"private_key\"").is_some()
                    && memchr::memmem::find(head, b"PRIVATE KEY-----").is_some()
            }
        }
    }
}

/// Template suffixes of `.env.<suffix>` that describe variables rather than hold them; their
/// live-looking secrets are still found by the content rules.
fn is_template_suffix(suffix: &[u8]) -> bool {
    suffix.split(|&b| b == b'.').any(|part| {
        matches!(
            part.to_ascii_lowercase().as_slice(),
            b"example"
                | b"examples"
                | b"sample"
                | b"samples"
                | b"template"
                | b"tmpl"
                | b"tpl"
                | b"dist"
                | b"default"
                | b"defaults"
                | b"schema"
        )
    })
}

/// `(parent, base name)` of a `/`- or `\`-separated path.
fn split_last(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/' || b == b'\\') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

fn last_component(path: &[u8]) -> &[u8] {
    split_last(path).1
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split(|&b| b == b'\n').map(<[u8]>::trim_ascii)
}

/// `KEY=value` or `KEY: value` / `KEY = value` (ini, dotenv, npmrc), comments skipped.
fn assignment(line: &[u8]) -> Option<(&[u8], &[u8])> {
    if line.starts_with(b"#") || line.starts_with(b";") {
        return None;
    }
    let line = line.strip_prefix(b"export ").unwrap_or(line);
    let i = line.iter().position(|&b| b == b'=' || b == b':')?;
    // `//registry/:_authToken=x`: the key may contain `:`; prefer `=` when there is one.
    let i = if line[i] == b':' { memchr::memchr(b'=', line).unwrap_or(i) } else { i };
    let (k, v) = (line[..i].trim_ascii(), line[i + 1..].trim_ascii());
    (!k.is_empty()).then_some((k, v))
}

fn unquote(v: &[u8]) -> &[u8] {
    match v {
        [b'"', inner @ .., b'"'] | [b'\'', inner @ .., b'\''] => inner,
        _ => v,
    }
}

/// A value that is set and is not a reference to something else (`${NPM_TOKEN}`, `$TOKEN`,
/// `<password>`, `%(token)s`) or an obvious placeholder.
fn is_value(v: &[u8]) -> bool {
    let v = unquote(v.trim_ascii());
    if v.is_empty() || v.starts_with(b"$") || v.starts_with(b"<") || v.starts_with(b"%(") || v.starts_with(b"{{") {
        return false;
    }
    if v.iter().all(|&b| b == v[0]) {
        return false; // "xxxx", "****"
    }
    !matches!(
        v.to_ascii_lowercase().as_slice(),
        b"password" | b"secret" | b"token" | b"changeme" | b"null" | b"none" | b"\"\""
    )
}

/// `scheme://user:password@host` with a real password.
pub(crate) fn url_has_password(line: &[u8]) -> bool {
    url_password(line).is_some()
}

/// The password span (start, end) of the first `scheme://user:password@host` in `line`.
pub(crate) fn url_password(line: &[u8]) -> Option<(usize, usize)> {
    let scheme_end = memchr::memmem::find(line, b"://")? + 3;
    let rest = &line[scheme_end..];
    let authority_len =
        rest.iter().position(|&b| matches!(b, b'/' | b'?' | b'#' | b' ' | b'"' | b'\'')).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let at = authority.iter().rposition(|&b| b == b'@')?;
    let userinfo = &authority[..at];
    let colon = memchr::memchr(b':', userinfo)?;
    let password = &userinfo[colon + 1..];
    is_value(password).then_some((scheme_end + colon + 1, scheme_end + at))
}

/// A PEM or PuTTY private key with a body (not a `...` placeholder).
fn has_private_key(bytes: &[u8]) -> bool {
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&bytes[from..], b"PRIVATE KEY-----") {
        let after = from + i + b"PRIVATE KEY-----".len();
        let line_start = memchr::memrchr(b'\n', &bytes[..from + i]).map_or(0, |n| n + 1);
        if memchr::memmem::find(&bytes[line_start..from + i], b"-----BEGIN ").is_some()
            && base64_run(&bytes[after..]) >= 40
        {
            return true;
        }
        from = after;
    }
    memchr::memmem::find(bytes, b"PuTTY-User-Key-File-").is_some()
        && memchr::memmem::find(bytes, b"Private-Lines:").is_some()
}

/// The longest run of base64 characters in the first few lines after a PEM header.
fn base64_run(bytes: &[u8]) -> usize {
    let head = &bytes[..bytes.len().min(512)];
    head.split(|&b| b == b'\n' || b == b'\r')
        .map(|l| l.iter().take_while(|&&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=').count())
        .max()
        .unwrap_or(0)
}

/// The string values following every occurrence of `key` (quoted, with its colon) in JSON text;
/// a shallow scan that needs no full parse.
fn json_string_values<'a>(json: &'a [u8], key: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    memchr::memmem::find_iter(json, key).filter_map(move |i| {
        let rest =
            json[i + key.len()..].trim_ascii_start().strip_prefix(b":")?.trim_ascii_start().strip_prefix(b"\"")?;
        let end = memchr::memchr(b'"', rest)?;
        Some(&rest[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_by_name() {
        let cases: &[(&str, Option<Kind>)] = &[
            (".env", Some(Kind::Dotenv)),
            ("package/.env.production", Some(Kind::Dotenv)),
            ("a/.env.local", Some(Kind::Dotenv)),
            ("a/.env.example", None),
            ("a/.env.sample", None),
            ("a/.env.template", None),
            ("a/.env.local.example", None),
            ("a/.envrc", None),
            ("a/env.js", None),
            (".venv/lib/x.py", None),
            ("x/.npmrc", Some(Kind::Npmrc)),
            ("x/.pypirc", Some(Kind::Pypirc)),
            ("x/_netrc", Some(Kind::Netrc)),
            ("home/.git-credentials", Some(Kind::GitCredentials)),
            ("k/id_rsa", Some(Kind::PrivateKey)),
            ("k/id_rsa.pub", None),
            ("k/server.PEM", Some(Kind::PrivateKey)),
            ("k/tls.key", Some(Kind::PrivateKey)),
            ("k/app.keystore", Some(Kind::Keystore)),
            ("k/a.p12", Some(Kind::Keystore)),
            ("infra/terraform.tfstate", Some(Kind::TerraformState)),
            ("infra/terraform.tfstate.backup", Some(Kind::TerraformState)),
            ("infra/prod.tfstate", Some(Kind::TerraformState)),
            ("home/.docker/config.json", Some(Kind::DockerConfig)),
            ("app/config.json", None),
            ("home/.kube/config", Some(Kind::Kubeconfig)),
            ("app/config", None),
            ("deploy/kubeconfig.yaml", Some(Kind::Kubeconfig)),
            ("deploy/prod.kubeconfig", Some(Kind::Kubeconfig)),
            ("site/.htpasswd", Some(Kind::Htpasswd)),
            ("gcp/credentials.json", Some(Kind::GcpServiceAccount)),
            ("gcp/service-account-prod.json", Some(Kind::GcpServiceAccount)),
            ("gcp/service-account.md", None),
            ("home/.bash_history", Some(Kind::ShellHistory)),
            ("lib/history.js", None),
            ("lib/monkey.key.js", None),
        ];
        for &(path, want) in cases {
            assert_eq!(Kind::classify(path.as_bytes()), want, "{path}");
        }
    }

    #[test]
    fn content_conditions() {
        let cases: &[(Kind, &str, bool)] = &[
            (Kind::Dotenv, "NODE_ENV=production\n", true),
            (Kind::Dotenv, "# nothing\n\n", false),
            (Kind::Dotenv, "API_KEY=\n", false),
            (Kind::Dotenv, "export A='x'\n", true),
            (Kind::Npmrc, "//registry.npmjs.org/:_authToken=abc123def\n", true),
            (Kind::Npmrc, "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", false),
            (Kind::Npmrc, "registry=https://registry.npmjs.org/\n", false),
            (Kind::Npmrc, "_auth = dXNlcjpwYXNz\n", true),
            (Kind::Pypirc, "[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc\n", true),
            (Kind::Pypirc, "[pypi]\nusername = __token__\npassword = <your token>\n", false),
            (Kind::Netrc, "machine example.com login bob password hunter22\n", true), // sluice:allow made up
            (Kind::Netrc, "machine example.com login bob\n", false),
            (Kind::GitCredentials, "https://bob:s3cr3tpw@example.com\n", true),
            (Kind::GitCredentials, "\n", false),
            (Kind::Keystore, "\x00\x01", true),
            (Kind::Keystore, "", false),
            (Kind::DockerConfig, r#"{"auths":{"r.example":{"auth":"Ym9iOnMzY3IzdA=="}}}"#, true), // sluice:allow made up
            (Kind::DockerConfig, r#"{"auths":{"r.example":{}},"credsStore":"desktop"}"#, false),
            (Kind::Kubeconfig, "users:\n- name: a\n  user:\n    token: abcdef0123456789\n", true),
            (Kind::Kubeconfig, "users:\n- name: a\n  user:\n    exec:\n      command: aws\n", false),
            (Kind::Htpasswd, "bob:$apr1$abc$def\n", true),
            (Kind::Htpasswd, "# none\n", false),
        ];
        for &(kind, text, want) in cases {
            assert_eq!(kind.holds(text.as_bytes()), want, "{kind:?} {text:?}");
        }
    }

    #[test]
    fn private_keys() {
        let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
        let key = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n");
        assert!(Kind::PrivateKey.holds(key.as_bytes()));
        let rsa = format!("-----BEGIN RSA PRIVATE KEY-----\r\n{body}\r\n-----END RSA PRIVATE KEY-----\r\n");
        assert!(Kind::PrivateKey.holds(rsa.as_bytes()));
        assert!(!Kind::PrivateKey.holds(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"));
        assert!(!Kind::PrivateKey.holds(b"-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n"));
        let gcp = format!(r#"{{"type":"service_account","private_key":"{}"}}"#, key.replace('\n', "\\n"));
        assert!(Kind::GcpServiceAccount.holds(gcp.as_bytes()));
        assert!(!Kind::GcpServiceAccount.holds(br#"{"installed":{"client_id":"x"}}"#));
    }

    #[test]
    fn url_passwords() {
        let line = b"url = https://deployer:tok3nvalue@github.com/acme/w.git"; // sluice:allow url.basic-auth (made-up test value)
        let (s, e) = url_password(line).unwrap();
        assert_eq!(&line[s..e], b"tok3nvalue");
        assert_eq!(url_password(b"url = https://github.com/acme/w.git"), None);
        assert_eq!(url_password(b"url = git@github.com:acme/w.git"), None);
        assert_eq!(url_password(b"url = https://bob:${TOKEN}@example.com/"), None);
        assert_eq!(url_password(b"url = https://bob@example.com/"), None);
    }
}

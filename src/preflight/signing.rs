//! Release signing, read from git: is the latest tag an annotated tag whose object carries a
//! PGP, SSH or X.509 signature (`git cat-file tag`), and is `tag.gpgSign` set so the next one
//! will be? Signatures are detected, not verified (that needs the signer's key: `git tag -v`).

use super::tool::git;
use super::{Evidence, Item, Repo, Section, Status};

/// Signature headers git writes into a signed tag object.
const SIGNATURES: &[(&str, &str)] = &[
    ("-----BEGIN PGP SIGNATURE-----", "PGP"),
    ("-----BEGIN SSH SIGNATURE-----", "SSH"),
    ("-----BEGIN SIGNED MESSAGE-----", "X.509"),
];

/// Adds `signing.latest-tag` and `signing.tag-gpgsign`.
pub fn check(repo: &Repo, items: &mut Vec<Item>) {
    if repo.tracked.is_none() {
        for (id, what) in [("signing.latest-tag", "release tags"), ("signing.tag-gpgsign", "tag.gpgSign")] {
            items.push(
                Item::new(
                    id,
                    Section::Signing,
                    Status::Manual,
                    format!("not a git repository: {what} cannot be checked"),
                )
                .fix("sign release tags (git tag -s) in the repository the package is released from"),
            );
        }
        return;
    }
    items.push(latest_tag(repo));
    items.push(gpg_sign(repo));
}

fn latest_tag(repo: &Repo) -> Item {
    const ID: &str = "signing.latest-tag";
    let fix = "sign release tags: git tag -s vX.Y.Z (PGP, or SSH with gpg.format=ssh), and push the signed tag";
    let list = git(
        &repo.dir,
        &["for-each-ref", "--sort=-creatordate", "--count=1", "--format=%(refname:short)%00%(objecttype)", "refs/tags"],
    )
    .unwrap_or_default();
    let Some((name, kind)) = list.lines().next().and_then(|l| l.split_once('\0')) else {
        return Item::new(ID, Section::Signing, Status::Warn, "no release tag in the repository").fix(fix);
    };
    let reference = format!("refs/tags/{name}");
    if kind != "tag" {
        return Item::new(
            ID,
            Section::Signing,
            Status::Warn,
            format!("latest tag '{name}' is a lightweight tag: it cannot carry a signature"),
        )
        .with(Evidence::new(reference, None, format!("points straight at a {kind}")))
        .fix(fix);
    }
    let object = git(&repo.dir, &["cat-file", "tag", &reference]).unwrap_or_default();
    let found = object
        .lines()
        .enumerate()
        .find_map(|(i, l)| SIGNATURES.iter().find(|(h, _)| l.trim() == *h).map(|(_, k)| (i as u64 + 1, *k)));
    match found {
        Some((line, kind)) => {
            Item::new(ID, Section::Signing, Status::Pass, format!("latest tag '{name}' is signed ({kind})")).with(
                Evidence::new(
                    reference,
                    Some(line),
                    format!("{kind} signature in the tag object; verify with git tag -v {name}"),
                ),
            )
        }
        None => Item::new(ID, Section::Signing, Status::Warn, format!("latest tag '{name}' is not signed"))
            .with(Evidence::new(reference, None, "annotated tag without a signature"))
            .fix(fix),
    }
}

fn gpg_sign(repo: &Repo) -> Item {
    const ID: &str = "signing.tag-gpgsign";
    let fix = "git config --global tag.gpgSign true (with user.signingKey set; gpg.format=ssh for an SSH key)";
    let Some(out) = git(&repo.dir, &["config", "--show-origin", "--type=bool", "--get", "tag.gpgSign"]) else {
        return Item::new(
            ID,
            Section::Signing,
            Status::Warn,
            "tag.gpgSign is not set: new tags are not signed by default",
        )
        .fix(fix);
    };
    let (origin, value) = out.trim().split_once('\t').unwrap_or(("", out.trim()));
    let file = origin.strip_prefix("file:").unwrap_or(origin).to_string();
    let line = super::read_text(&repo.dir.join(&file))
        .and_then(|t| t.lines().position(|l| l.to_ascii_lowercase().contains("gpgsign")).map(|i| i as u64 + 1));
    let ev = Evidence::new(file, line, format!("tag.gpgSign = {value}"));
    if value == "true" {
        Item::new(ID, Section::Signing, Status::Pass, "tag.gpgSign is set: tags are signed by default").with(ev)
    } else {
        Item::new(ID, Section::Signing, Status::Warn, "tag.gpgSign is false: new tags are not signed by default")
            .with(ev)
            .fix(fix)
    }
}

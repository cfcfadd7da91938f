//! `sluice preflight` and `sluice diff`: their clap arguments, turned into the library's
//! options (issue 15: `--previous`, `--against-source`, `--offline`, build outputs).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};

use super::{ColorChoice, EngineArgs, FailOn, create_output, use_color};
use sluicebox::config::Config;
use sluicebox::config::file::{self as config_file, FileConfig};
use sluicebox::rules::Severity;
use sluicebox::scan;

#[derive(Clone, Copy, ValueEnum)]
pub(super) enum PreflightFormat {
    Human,
    Json,
    Sarif,
}

#[derive(Args)]
pub(super) struct PreflightArgs {
    /// The package directory (holding package.json, Cargo.toml, pyproject.toml or setup.py)
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = PreflightFormat::Human)]
    format: PreflightFormat,
    /// Write the report to FILE instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit 1 on any warn too, not only on a fail
    #[arg(long)]
    strict: bool,
    /// Run no ecosystem tool (npm, cargo, the Python build backend, auditors): scan the whole
    /// directory instead of the exact publish set
    #[arg(long)]
    no_tools: bool,
    /// Compare the publish set with the previous release OLD (a package archive or directory),
    /// or with 'auto': the highest release at or below this version in --mirror DIR or the
    /// local package caches. Changes at or above --fail-on fail
    #[arg(long, value_name = "OLD")]
    previous: Option<PathBuf>,
    /// Look for '--previous auto' in DIR (files named name-version.ext)
    #[arg(long, value_name = "DIR", requires = "previous")]
    mirror: Option<PathBuf>,
    /// Compare the publish set with the repository at REF [default: HEAD]: every file must match
    /// it or a build output pattern ([diff] build_outputs in sluice.toml, plus each ecosystem's
    /// defaults such as dist/** or PKG-INFO). Put it after DIR, or write --against-source=REF
    #[arg(long, value_name = "REF", num_args = 0..=1, default_missing_value = "HEAD")]
    against_source: Option<String>,
    /// Use no network: skip the dependency auditors (npm audit, pip-audit, cargo audit)
    #[arg(long)]
    offline: bool,
    /// Lowest severity of a release-review change or an audited vulnerability that fails
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    fail_on: FailOn,
    /// Settings file [default: sluice.toml in DIR, else at the git top level]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
    /// Color in human output
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

pub(super) fn run_preflight(args: &PreflightArgs) -> Result<i32> {
    use sluicebox::preflight::{self, Previous, audit::AuditOptions, report};
    let mut config = Config {
        inputs: vec![args.dir.clone()],
        extra_rules: args.engine.rules.clone(),
        builtin_rules: !args.engine.no_builtin_rules,
        threads: args.engine.threads,
        ..Config::default()
    };
    // The project's sluice.toml (disabled rules, allowed values, excluded paths, build outputs)
    // applies to the publish-set scan as it does to `sluice scan`.
    if let Some(path) = args.config.clone().or_else(|| config_file::discover(&config)) {
        FileConfig::load(&path)?.apply(&mut config, &path);
    }
    let previous = match &args.previous {
        Some(p) if p.as_os_str() == "auto" => Some(Previous::Auto),
        Some(p) if !p.exists() => {
            bail!("--previous '{}' does not exist\nhint: give a package archive or directory, or 'auto'", p.display())
        }
        Some(p) => Some(Previous::Path(p.clone())),
        None => None,
    };
    let engine = scan::build_engine(&config)?;
    let opts = preflight::Options {
        run_tools: !args.no_tools,
        previous,
        mirror: args.mirror.clone(),
        against_source: args.against_source.clone(),
        fail_on: args.fail_on.into(),
        audit: AuditOptions { offline: args.offline, ..AuditOptions::from_env() },
        ..preflight::Options::new(&args.dir)
    };
    let result = preflight::run(&opts, &config, &engine)?;
    let mut out = create_output(args.output.as_deref())?;
    let color = use_color(args.color, args.output.is_some());
    match args.format {
        PreflightFormat::Human => report::human(&result, args.strict, color, &mut out)?,
        PreflightFormat::Json => report::json(&result, args.strict, &mut out)?,
        PreflightFormat::Sarif => report::sarif(&result, &mut out)?,
    }
    Ok(result.exit_code(args.strict))
}

#[derive(Args)]
pub(super) struct DiffArgs {
    /// OLD and NEW: package archives (.tgz, .crate, .whl, .tar.gz, .gem) or directories; with
    /// NEW alone, OLD is the previous release found in --mirror or the local package caches.
    /// OLD may be a git repository, REPO[@REF]: the package against its source
    #[arg(required = true, num_args = 1..=2, value_name = "OLD NEW")]
    paths: Vec<PathBuf>,
    /// Look for OLD in DIR (files named name-version.ext, e.g. ~/.cache/sluice-mirror/archives)
    #[arg(long, value_name = "DIR")]
    mirror: Option<PathBuf>,
    /// With OLD a repository (REPO[@REF]): packaged files matching GLOB are build outputs, not
    /// expected in the repository (added to [diff] build_outputs of sluice.toml and each
    /// ecosystem's defaults: dist/**, build/** for npm, PKG-INFO, *.egg-info/** for Python, ...)
    #[arg(long, value_name = "GLOB")]
    build_output: Vec<String>,
    /// Settings file [default: sluice.toml in the repository, with OLD a repository]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = PreflightFormat::Human)]
    format: PreflightFormat,
    /// Write the report to FILE instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Lowest severity that makes the exit code 1
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    fail_on: FailOn,
    /// Print full secret values of new findings (masked by default)
    #[arg(long)]
    show_secrets: bool,
    #[command(flatten)]
    engine: EngineArgs,
    /// Color in human output
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

pub(super) fn run_diff(args: &DiffArgs) -> Result<i32> {
    use sluicebox::diff;
    let mut config = Config {
        extra_rules: args.engine.rules.clone(),
        builtin_rules: !args.engine.no_builtin_rules,
        threads: args.engine.threads,
        show_secrets: args.show_secrets,
        ..Config::default()
    };
    let (old, new) = match args.paths.as_slice() {
        [old, new] => (old.clone(), new.clone()),
        [new] => {
            let old = diff::find_previous(new, args.mirror.as_deref(), config.limits)?;
            eprintln!("sluice: comparing with the previous release '{}'", old.display());
            (old, new.clone())
        }
        _ => bail!("give OLD and NEW, or NEW with --mirror DIR"),
    };
    let result = match diff::source::repo_spec(&old) {
        // A repository against a package built from it: the repository's sluice.toml declares
        // its build outputs.
        Some((repo, rev)) if new.is_file() => {
            let discover = Config { inputs: vec![repo.clone()], ..Config::default() };
            if let Some(path) = args.config.clone().or_else(|| config_file::discover(&discover)) {
                FileConfig::load(&path)?.apply(&mut config, &path);
            }
            config.build_outputs.extend(args.build_output.iter().cloned());
            diff::run_source(&repo, rev.as_deref(), &new, &config.build_outputs, &config)?
        }
        _ => {
            if let Some(path) = &args.config {
                FileConfig::load(path)?.apply(&mut config, path);
            }
            diff::run(&old, &new, &config, &scan::build_engine(&config)?)?
        }
    };
    let mut out = create_output(args.output.as_deref())?;
    let color = use_color(args.color, args.output.is_some());
    match args.format {
        PreflightFormat::Human => diff::report::human(&result, color, &mut out)?,
        PreflightFormat::Json => diff::report::json(&result, &mut out)?,
        PreflightFormat::Sarif => diff::report::sarif(&result, &mut out)?,
    }
    out.flush()?;
    Ok(result.exit_code(Severity::from(args.fail_on)))
}

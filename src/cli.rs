//! The command line (clap derive), converted once into a [`Config`]; clap is named only here and
//! in [`review`] (`preflight` and `diff`, split out to keep this file short).

mod review;

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use sluicebox::config::file::{self as config_file, FileConfig};
use sluicebox::config::{Config, Format};
use sluicebox::engine::check;
use sluicebox::git::repo::{HistoryScan, Range};
use sluicebox::input::Limits;
use sluicebox::input::staged;
use sluicebox::input::walk::WalkOptions;
use sluicebox::report::{OutputOptions, Reporter, human::Human, json, sarif::Sarif};
use sluicebox::rules::{Confidence, RuleSet, Severity};
use sluicebox::{Engine, scan};

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "Find secrets, credential files, source maps and .git directories in packages before they ship"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan files, directories and archives (default: .)
    Scan(ScanArgs),
    /// Build the publish set of the package in DIR, scan it, and check the publishing checklist
    Preflight(review::PreflightArgs),
    /// List or check rules
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Record the current findings so later scans report only new ones (--baseline)
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Find typosquats of NAME and republished copies of its files in a mirror or a name list;
    /// without NAME, every name against the popular ones (registry-operator view)
    Watch(WatchArgs),
    /// What changed between two releases: files, install-time code, dependencies, new findings
    Diff(review::DiffArgs),
    /// Group the findings of a JSON Lines scan into secrets, with the packages and versions
    /// that carry each
    Report(ReportArgs),
    /// Combine the JSON Lines outputs of sharded scans (--shard K/N) into one, deduplicated
    Merge(MergeArgs),
}

#[derive(Args)]
struct ReportArgs {
    /// A JSON Lines output of 'sluice scan' or 'sluice merge' ('-' reads stdin)
    scan: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
    /// Write the report to FILE instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct MergeArgs {
    /// JSON Lines outputs of the shards
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// Write the merged JSON Lines to FILE instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Subcommand)]
enum BaselineCommand {
    /// Scan like 'sluice scan' and write the findings as a baseline (json unless --format jsonl or
    /// sarif; human is taken as json) to --output or stdout
    Create {
        #[command(flatten)]
        scan: ScanArgs,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// List rules: id, category, severity, description
    List {
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
    /// Validate rule files (default: the builtin rules) and run their examples through the engine
    Check {
        /// Rule files or directories of *.toml
        files: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
    Human,
    Json,
    Jsonl,
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum FailOn {
    Low,
    Medium,
    High,
}

impl From<FailOn> for Severity {
    fn from(f: FailOn) -> Severity {
        match f {
            FailOn::Low => Severity::Low,
            FailOn::Medium => Severity::Medium,
            FailOn::High => Severity::High,
        }
    }
}

/// The rule set and the workers, shared by the commands that scan.
#[derive(Args)]
pub(crate) struct EngineArgs {
    /// Extra rule files or directories of *.toml
    #[arg(long = "rules", value_name = "PATH")]
    pub(crate) rules: Vec<PathBuf>,
    /// Do not load the builtin rules
    #[arg(long)]
    pub(crate) no_builtin_rules: bool,
    /// Worker threads (default: available cores)
    #[arg(long, short = 'j', default_value_t = 0)]
    pub(crate) threads: usize,
}

#[derive(Args)]
struct ScanArgs {
    /// Files, directories or archives to scan; '-' reads stdin
    paths: Vec<PathBuf>,
    /// Scan the staged blobs (the git index, not the work tree) of the repository containing the
    /// current directory: the pre-commit check
    #[arg(long, conflicts_with = "paths")]
    staged: bool,
    /// Scan the history of the git repository REPO [default: .]: every blob reachable from any
    /// ref or HEAD, once, located as <commit>:<path> of the commit that introduced it
    #[arg(long, value_name = "REPO", num_args = 0..=1, default_missing_value = ".", conflicts_with_all = ["paths", "staged"])]
    git: Option<PathBuf>,
    /// With --git: only what the commits of REF..HEAD add (REF: a branch, tag, HEAD or full commit id)
    #[arg(long, value_name = "REF", requires = "git")]
    since: Option<String>,
    /// With --git: only what the commits of A..B add
    #[arg(long, value_name = "A..B", requires = "git", conflicts_with = "since")]
    range: Option<String>,
    /// Settings file [default: sluice.toml at the scan root, else at the git top level]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Suppress findings whose fingerprint is in FILE (a previous json, jsonl or sarif output,
    /// e.g. from 'sluice baseline create')
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Never draw the progress line (it is only drawn when stderr is a terminal)
    #[arg(long)]
    no_progress: bool,
    /// No progress line and no summary line (findings and errors are still printed)
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = OutFormat::Human)]
    format: OutFormat,
    /// Write output to FILE instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
    // The limits are options so a flag given wins over sluice.toml, which wins over the default.
    /// Maximum archive nesting depth [default: 8]
    #[arg(long, value_name = "N")]
    max_depth: Option<usize>,
    /// Maximum expanded bytes per top-level input [default: 17179869184 (16 GiB)]
    #[arg(long, value_name = "N")]
    max_archive_bytes: Option<u64>,
    /// Maximum expanded/compressed ratio per archive member [default: 1000]
    #[arg(long, value_name = "N")]
    max_ratio: Option<u64>,
    /// Treat archives as opaque bytes
    #[arg(long)]
    no_archives: bool,
    /// Apply .gitignore/.ignore rules (default: scan everything, as it would ship)
    #[arg(long)]
    respect_gitignore: bool,
    /// Follow symlinks (default: report them as skipped)
    #[arg(long)]
    follow_symlinks: bool,
    /// Print full secret values (masked by default)
    #[arg(long)]
    show_secrets: bool,
    /// Lowest severity that makes the exit code 1
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    fail_on: FailOn,
    /// Color in human output
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Report only findings at or above this confidence (high: checksum or unique shape; medium:
    /// provider keyword and shape; low: generic assignment)
    #[arg(long, value_enum, default_value_t = MinConfidence::Low)]
    min_confidence: MinConfidence,
    /// Report only findings in these contexts (comma-separated): runtime (shipped code), test
    /// (tests and fixtures), docs (docs, READMEs, doc comments), example [default: all]
    #[arg(long, value_enum, value_delimiter = ',', value_name = "CONTEXT")]
    context: Vec<ContextArg>,
    /// Scan only shard K of N (1-based): a range of the hashes of the paths below the scan root,
    /// cut so that each shard holds 1/N of the bytes, to split a mirror over N machines;
    /// 'sluice merge' combines the outputs
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Remember each input archive's records in this SQLite file; later scans skip unchanged
    /// archives and replay their records
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// With --state: scan everything again (and refresh the store)
    #[arg(long, requires = "state")]
    rescan: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum MinConfidence {
    Low,
    Medium,
    High,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ContextArg {
    Runtime,
    Test,
    Docs,
    Example,
}

/// `--git REPO` with `--since` or `--range` as a history scan.
fn history_scan(repo: PathBuf, since: Option<String>, range: Option<&str>) -> Result<HistoryScan> {
    let range = match (since, range) {
        (Some(r), _) => Range::Since(r),
        (None, Some(r)) => match r.split_once("..") {
            Some((a, b)) if !a.is_empty() && !b.is_empty() && !b.starts_with('.') => {
                Range::Between(a.to_string(), b.to_string())
            }
            _ => bail!("--range '{r}' is not of the form A..B\nhint: give two commits, e.g. --range v1.0.0..main"),
        },
        (None, None) => Range::All,
    };
    Ok(HistoryScan { repo, range })
}

impl ScanArgs {
    /// The Config of these flags, `sluice.toml` merged in (flags win).
    fn into_full_config(self) -> Result<Config> {
        let staged = self.staged;
        let history = match self.git.clone() {
            Some(repo) => Some(history_scan(repo, self.since.clone(), self.range.as_deref())?),
            None => None,
        };
        let explicit_config = self.config.clone();
        let baseline = self.baseline.clone();
        let (no_progress, quiet) = (self.no_progress, self.quiet);
        let (max_depth, max_archive_bytes, max_ratio) = (self.max_depth, self.max_archive_bytes, self.max_ratio);
        let shard = self.shard.as_deref().map(sluicebox::shard::Shard::parse).transpose()?;
        let (state, rescan) = (self.state.clone(), self.rescan);
        let mut config = self.into_config();
        config.shard = shard;
        config.state = state;
        config.rescan = rescan;
        if staged {
            let cwd = std::env::current_dir().context("cannot read the current directory")?;
            config.staged = Some(staged::toplevel(&cwd)?);
        }
        if let Some(history) = history {
            config.inputs = vec![history.repo.clone()];
            config.git = Some(history);
        }
        if let Some(path) = explicit_config.or_else(|| config_file::discover(&config)) {
            FileConfig::load(&path)?.apply(&mut config, &path);
        }
        let limits = &mut config.limits;
        limits.max_depth = max_depth.unwrap_or(limits.max_depth);
        limits.max_archive_bytes = max_archive_bytes.unwrap_or(limits.max_archive_bytes);
        limits.max_ratio = max_ratio.unwrap_or(limits.max_ratio);
        config.baseline = baseline;
        config.quiet = quiet;
        // A progress line only where a person watches stderr, and never interleaved with JSON
        // Lines streaming to the same terminal.
        let streams_to_tty = config.format == Format::Jsonl && config.output.is_none() && io::stdout().is_terminal();
        config.progress = !no_progress && !quiet && io::stderr().is_terminal() && !streams_to_tty;
        Ok(config)
    }

    fn into_config(self) -> Config {
        let color = match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                self.output.is_none()
                    && io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        Config {
            inputs: if self.paths.is_empty() { vec![PathBuf::from(".")] } else { self.paths },
            format: match self.format {
                OutFormat::Human => Format::Human,
                OutFormat::Json => Format::Json,
                OutFormat::Jsonl => Format::Jsonl,
                OutFormat::Sarif => Format::Sarif,
            },
            output: self.output,
            extra_rules: self.engine.rules,
            builtin_rules: !self.engine.no_builtin_rules,
            threads: self.engine.threads,
            limits: Limits::default(), // flags and sluice.toml: into_full_config
            archives: !self.no_archives,
            walk: WalkOptions { respect_gitignore: self.respect_gitignore, follow_symlinks: self.follow_symlinks },
            show_secrets: self.show_secrets,
            fail_on: self.fail_on.into(),
            color,
            io: sluicebox::config::IoOptions::default(),
            min_confidence: match self.min_confidence {
                MinConfidence::Low => Confidence::Low,
                MinConfidence::Medium => Confidence::Medium,
                MinConfidence::High => Confidence::High,
            },
            contexts: self
                .context
                .iter()
                .map(|c| {
                    match c {
                        ContextArg::Runtime => sluicebox::context::RUNTIME,
                        ContextArg::Test => sluicebox::context::Context::Test.as_str(),
                        ContextArg::Docs => sluicebox::context::Context::Docs.as_str(),
                        ContextArg::Example => sluicebox::context::Context::Example.as_str(),
                    }
                    .to_string()
                })
                .collect(),
            ..Config::default() // staged, baseline, sluice.toml, progress: into_full_config
        }
    }
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match cli.command {
        Command::Scan(args) => args.into_full_config().and_then(|config| run_scan(&config)),
        Command::Preflight(args) => review::run_preflight(&args),
        Command::Baseline(BaselineCommand::Create { scan }) => baseline_create(scan),
        Command::Diff(args) => review::run_diff(&args),
        Command::Rules(RulesCommand::List { format }) => rules_list(format),
        Command::Rules(RulesCommand::Check { files }) => rules_check(&files),
        Command::Report(args) => run_report(&args),
        Command::Merge(args) => run_merge(&args),
        Command::Watch(args) => run_watch(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if e.downcast_ref::<sluicebox::Error>().is_some_and(sluicebox::Error::is_broken_pipe)
                || e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            {
                return 0;
            }
            eprintln!("sluice: error: {e:#}");
            2
        }
    }
}

fn run_scan(config: &Config) -> Result<i32> {
    let outcome = scan_outcome(config)?;
    Ok(if outcome.summary.interrupted { EXIT_INTERRUPTED } else { outcome.exit_code(config.fail_on) })
}

fn scan_outcome(config: &Config) -> Result<scan::Outcome> {
    let engine = scan::build_engine(config)?;
    let out: Box<dyn Write + Send> = match &config.output {
        Some(path) => Box::new(io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create output file '{}'", path.display()))?,
        )),
        None => Box::new(io::BufWriter::new(io::stdout())),
    };
    let opts = OutputOptions { show_secrets: config.show_secrets, color: config.color };
    let mut reporter: Box<dyn Reporter> = match config.format {
        Format::Human => Box::new(Human::new(out, opts).quiet(config.quiet)),
        Format::Json => Box::new(json::JsonDocument::new(out, config.show_secrets)),
        Format::Jsonl => Box::new(json::JsonLines::new(out, config.show_secrets)),
        Format::Sarif => Box::new(Sarif::new(out, config.show_secrets)),
    };
    let cancel = interrupt_flag()?;
    Ok(scan::run(config, &engine, reporter.as_mut(), &cancel)?)
}

/// Exit code of a scan stopped by SIGINT (128 + 2, as shells report it).
const EXIT_INTERRUPTED: i32 = 130;

/// A cancel flag that SIGINT sets: the scan stops taking new work, finishes the units in
/// flight and writes its summary marked interrupted. A second SIGINT exits at once (130);
/// every JSON Lines record already written is complete (issue 7).
fn interrupt_flag() -> Result<Arc<AtomicBool>> {
    use signal_hook::{consts::SIGINT, flag};
    let cancel = Arc::new(AtomicBool::new(false));
    // Registered first, so it sees the flag as it was before this signal.
    flag::register_conditional_shutdown(SIGINT, EXIT_INTERRUPTED, Arc::clone(&cancel))
        .context("cannot install the SIGINT handler")?;
    flag::register(SIGINT, Arc::clone(&cancel)).context("cannot install the SIGINT handler")?;
    Ok(cancel)
}

/// `sluice baseline create`: a scan whose findings are the point, so it exits 0 unless an input
/// could not be fully scanned (2).
fn baseline_create(args: ScanArgs) -> Result<i32> {
    let mut config = args.into_full_config()?;
    if config.format == Format::Human {
        config.format = Format::Json;
    }
    let outcome = scan_outcome(&config)?;
    if outcome.summary.interrupted {
        return Ok(EXIT_INTERRUPTED);
    }
    if let Some(path) = &config.output
        && !config.quiet
    {
        eprintln!(
            "sluice: wrote a baseline of {} findings to '{}'",
            outcome.summary.findings,
            Path::new(path).display()
        );
    }
    Ok(if outcome.summary.errors > 0 { 2 } else { 0 })
}

pub(crate) fn create_output(output: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match output {
        Some(path) => Box::new(io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create output file '{}'", path.display()))?,
        )),
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    })
}

fn open_input(path: &Path) -> Result<Box<dyn io::BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::BufReader::new(io::stdin())));
    }
    let file = std::fs::File::open(path).with_context(|| format!("cannot open '{}'", path.display()))?;
    Ok(Box::new(io::BufReader::new(file)))
}

/// `sluice report`: exit 1 when the scan holds secrets, 0 when it holds none.
fn run_report(args: &ReportArgs) -> Result<i32> {
    use sluicebox::report::group;
    let secrets =
        group::group(open_input(&args.scan)?).with_context(|| format!("cannot read '{}'", args.scan.display()))?;
    let mut out = create_output(args.output.as_deref())?;
    match args.format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &group::to_json(&secrets))?;
            writeln!(out)?;
        }
        ListFormat::Human => group::human(&secrets, &mut out)?,
    }
    out.flush()?;
    Ok(i32::from(!secrets.is_empty()))
}

/// `sluice merge`: exit 1 when the merged output holds findings, 2 when a shard did not finish
/// (no summary record) and none were found.
fn run_merge(args: &MergeArgs) -> Result<i32> {
    let inputs = args.shards.iter().map(|p| open_input(p)).collect::<Result<Vec<_>>>()?;
    let mut out = create_output(args.output.as_deref())?;
    let merged = sluicebox::report::merge::merge(inputs, &mut out).context("cannot merge")?;
    if merged.incomplete > 0 {
        eprintln!("sluice: warning: {} shard outputs have no summary (did the shard finish?)", merged.incomplete);
    }
    Ok(if merged.findings > 0 {
        1
    } else if merged.incomplete > 0 || merged.errors > 0 {
        2
    } else {
        0
    })
}

fn rules_list(format: ListFormat) -> Result<i32> {
    let rules = RuleSet::builtin()?;
    let mut out = io::stdout().lock();
    match format {
        ListFormat::Json => {
            let list: Vec<_> = rules
                .rules()
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id, "category": r.category.as_str(), "severity": r.severity.as_str(),
                        "description": r.description, "keywords": r.keywords, "validate": r.validate.map(sluicebox::rules::validate::Validator::name),
                        "references": r.references,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &list)?;
            writeln!(out)?;
        }
        ListFormat::Human => {
            for r in rules.rules() {
                writeln!(out, "{:<36} {:<16} {:<7} {}", r.id, r.category, r.severity.as_str(), r.description)?;
            }
        }
    }
    Ok(0)
}

fn rules_check(files: &[PathBuf]) -> Result<i32> {
    let rules = if files.is_empty() {
        RuleSet::builtin()?
    } else {
        let config = Config { extra_rules: files.to_vec(), builtin_rules: false, ..Config::default() };
        scan::build_engine(&config)?.rules().clone()
    };
    let n = rules.len();
    let engine = Engine::new(rules)?;
    let problems = check::check(&engine);
    for p in &problems {
        eprintln!("sluice: {p}");
    }
    if problems.is_empty() {
        println!("{n} rules ok");
        Ok(0)
    } else {
        bail!("{} problems in {n} rules", problems.len())
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum EcosystemArg {
    Npm,
    Pypi,
    Crates,
}

#[derive(Args)]
struct WatchArgs {
    /// Our package names (none: the registry-operator view, every name against --top)
    #[arg(value_name = "NAME")]
    targets: Vec<String>,
    /// Only this ecosystem [default: every ecosystem of the source]
    #[arg(long, value_enum)]
    ecosystem: Option<EcosystemArg>,
    /// A mirror directory of archives with npm/, pypi/ and crates/ subdirectories
    #[arg(long, value_name = "DIR", required_unless_present = "names", conflicts_with = "names")]
    mirror: Option<PathBuf>,
    /// A file of names, one 'ecosystem name' per line
    #[arg(long, value_name = "FILE")]
    names: Option<PathBuf>,
    /// Popular names, one 'name' or 'ecosystem name' per line, for the registry-operator view
    /// [default with --mirror: its most-depended-upon packages]
    #[arg(long, value_name = "FILE")]
    top: Option<PathBuf>,
    /// How many most-depended-upon packages per ecosystem are the popular ones (without --top)
    #[arg(long, value_name = "N", default_value_t = 100)]
    top_count: usize,
    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
    /// Write output to FILE instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// No summary line on stderr
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// `sluice watch`: exit 1 when there are candidates, 2 when the source could not be fully read
/// and there are none, else 0.
fn run_watch(args: WatchArgs) -> Result<i32> {
    use sluicebox::watch::{self, Options, Source, names::Ecosystem, output};
    let source = match (args.mirror, args.names) {
        (Some(dir), _) => Source::Mirror(dir),
        (None, Some(file)) => Source::Names(file),
        (None, None) => bail!("give --mirror DIR or --names FILE"),
    };
    let opts = Options {
        targets: args.targets,
        ecosystem: args.ecosystem.map(|e| match e {
            EcosystemArg::Npm => Ecosystem::Npm,
            EcosystemArg::Pypi => Ecosystem::Pypi,
            EcosystemArg::Crates => Ecosystem::Crates,
        }),
        source,
        top: args.top,
        top_count: args.top_count,
    };
    let report = watch::run(&opts)?;
    let mut out = create_output(args.output.as_deref())?;
    match args.format {
        ListFormat::Json => output::write_json(&report, &mut out)?,
        ListFormat::Human => output::write_human(&report, &mut out)?,
    }
    out.flush()?;
    if !args.quiet {
        for e in report.errors.iter().take(20) {
            eprintln!("sluice: {e}");
        }
        eprintln!("sluice: {}", output::summary_line(&report));
    }
    Ok(if !report.candidates.is_empty() {
        1
    } else if report.errors.is_empty() {
        0
    } else {
        2
    })
}

/// `--color`: `auto` colors only a terminal on stdout, and never under `NO_COLOR`.
pub(crate) fn use_color(choice: ColorChoice, to_file: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            !to_file && io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

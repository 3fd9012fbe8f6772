//! A differential test against Alembic itself: random revision graphs from
//! fixed seeds, written both as an Alembic script directory and as
//! cargo-migrate revision files, then the same random sequence of upgrade
//! and downgrade targets run through both on separate SQLite files. After
//! every step both must have failed or both succeeded, and both must hold
//! the same `t_<id>` tables (what is applied, whatever the bookkeeping).
//!
//! Alembic runs in one Python process per graph (`alembic_driver.py`, next
//! to this file); cargo-migrate runs through the library. Where we differ
//! from Alembic on purpose, [`DEVIATIONS`] says so and why. Replay a run
//! with `ALEMBIC_ORACLE_SEEDS=7` (or `1,5,9`, or `1..200`, end excluded).

use crate::chain;
use migrate_runtime::apply::Options;
use migrate_runtime::load::load_graph;
use migrate_runtime::sqlite::SqliteMigrator;
use migrate_runtime::Graph;
use proptest::prelude::RngExt;
use proptest::test_runner::{RngAlgorithm, TestRng};
use rusqlite::Connection;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// Each seed is one graph and one sequence of [`STEPS_PER_SEED`] steps.
const SEEDS: [u64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
const STEPS_PER_SEED: usize = 60;
/// Branch labels: none is a hex word, so no id prefix can match one (Alembic
/// looks prefixes up among labels too).
const LABELS: [&str; 5] = ["alpha", "beta", "gamma", "delta", "omega"];

/// A deliberate difference from Alembic: when a step's outcomes differ and
/// `applies` says this is the difference meant, the step is a deviation, not
/// a failure. The databases then differ by design, so the sequence stops
/// there: carrying one tool's state over to the other would mean driving
/// the tool under test with steps that were never compared.
struct Deviation {
    name: &'static str,
    reason: &'static str,
    applies: fn(&Observed<'_>) -> bool,
}

const DEVIATIONS: &[Deviation] = &[
    Deviation {
        name: "`-N` from several current heads",
        reason: "Alembic warns and walks down from whichever head its version table lists first \
                 (script/revision.py:1169, _parse_downgrade_target: \"downgrade -1 from multiple heads \
                 is ambiguous; this usage will be disallowed in a future release\"); cargo-migrate \
                 refuses and suggests `<id>-N`",
        applies: |seen| {
            seen.step.target.starts_with('-')
                && seen.alembic.warned("downgrade -1 from multiple heads is ambiguous")
                && seen.cargo.failed_with("the database is at several revisions")
        },
    },
    Deviation {
        name: "a step back from a merge point",
        reason: "cargo-migrate steps back from a merge point onto its parents in the target's \
                 branch, and lets the last step of `-N`, `<id>-N` or `label@-N` land on two of them, \
                 the state before the merge (src/target.rs, `Resolver::backward`); Alembic's _walk \
                 refuses any step back from a merge point (script/revision.py:1081, \"Ambiguous \
                 walk\")",
        applies: |seen| {
            // Ids are hex and labels letters: a `-` in a target is a step back.
            seen.step.target.contains('-')
                && seen.alembic.failed_with("Ambiguous walk")
                && seen.cargo.error.is_none()
        },
    },
];

#[test]
fn alembic_agrees_on_random_graphs() {
    if !alembic_available() {
        return;
    }
    let mut report = Report::default();
    for seed in seeds() {
        report.add(seed, &run_seed(seed));
    }
    assert!(report.findings.is_empty(), "{}\n{}", report.findings.join("\n"), report.summary());
    eprintln!("{}", report.summary());
}

/// The harness itself: on a straight chain every kind of target means the
/// same in both tools, so any difference here is a bug of this file.
#[test]
fn alembic_agrees_on_a_linear_chain() {
    if !alembic_available() {
        return;
    }
    let model = Model::from_chain(
        "
        aaaa00000001
        bbbb00000002 <- aaaa00000001  [alpha]
        cccc00000003 <- bbbb00000002
        dddd00000004 <- cccc00000003
        ",
    );
    let steps = steps(
        "upgrade +1, upgrade head, downgrade -1, downgrade -2, upgrade heads, downgrade base, \
         upgrade bbbb, upgrade bbbb+2, downgrade cccc-1, downgrade aaaa00000001, upgrade alpha@head, \
         downgrade alpha@-1, downgrade alpha@bbbb, downgrade alpha@base, upgrade +9, downgrade -9, \
         upgrade alpha@+2, upgrade dddd00000004, downgrade cccc, downgrade base",
    );
    let outcome = Case { seed: None, model, steps }.run().expect("Alembic loads a straight chain");
    assert!(matches!(outcome.verdict, Verdict::Agreed), "{}", outcome.render());
}

// ---------------------------------------------------------------------------
// Running one seed

/// Builds and runs the seed's case; a graph Alembic refuses is drawn again.
fn run_seed(seed: u64) -> Outcome {
    let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed));
    let mut refusals = Vec::new();
    while refusals.len() < 10 {
        let model = Model::random(&mut rng);
        let steps = (0..STEPS_PER_SEED).map(|_| Step::random(&mut rng, &model)).collect();
        match (Case { seed: Some(seed), model, steps }).run() {
            Ok(outcome) => return outcome,
            Err(refused) => {
                eprintln!("seed {seed}: drawing another graph: {refused}");
                refusals.push(refused);
            }
        }
    }
    panic!("seed {seed}: Alembic refused every graph drawn, the generator is off:\n{}", refusals.join("\n"));
}

fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut bytes = [0; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes
}

/// [`SEEDS`], or those named by `ALEMBIC_ORACLE_SEEDS` (`7`, `1,5`, `1..200`).
fn seeds() -> Vec<u64> {
    let Ok(text) = std::env::var("ALEMBIC_ORACLE_SEEDS") else { return SEEDS.to_vec() };
    let number = |s: &str| s.trim().parse::<u64>().expect("ALEMBIC_ORACLE_SEEDS: `7`, `1,5` or `1..200`");
    match text.split_once("..") {
        Some((from, to)) => (number(from)..number(to)).collect(),
        None => text.split(',').map(number).collect(),
    }
}

/// Whether python3 can import alembic. Outside CI a machine without it
/// skips the comparison; CI must have it.
fn alembic_available() -> bool {
    let probe = Command::new("python3").args(["-c", "import alembic"]).output();
    if probe.is_ok_and(|out| out.status.success()) {
        return true;
    }
    let missing = "the Alembic oracle needs python3 with Alembic: `pip install alembic`";
    assert!(std::env::var_os("CI").is_none(), "{missing}");
    eprintln!("skipped: {missing}");
    false
}

// ---------------------------------------------------------------------------
// The revision graph, as generated

#[derive(Debug, Clone, Default)]
struct Model {
    /// In generation order, which is also `created` order.
    nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
struct Node {
    id: String,
    parents: Vec<usize>,
    depends_on: Vec<usize>,
    labels: Vec<String>,
}

impl Model {
    /// 5 to 15 revisions: a few bases, branch points, merges of two
    /// unrelated revisions, labels and same-package dependencies.
    fn random(rng: &mut TestRng) -> Model {
        let mut model = Model::default();
        for _ in 0..rng.random_range(5..=15) {
            let parents = model.random_parents(rng);
            let node = Node {
                id: model.random_id(rng),
                depends_on: model.random_dependency(rng, &parents),
                labels: model.random_label(rng),
                parents,
            };
            model.nodes.push(node);
        }
        model
    }

    /// A model from [`chain`] notation, lines in parent-first order.
    fn from_chain(description: &str) -> Model {
        let mut model = Model::default();
        for revision in chain(description) {
            let index = |id: &str| model.nodes.iter().position(|n| n.id == id).expect("parents come first");
            let node = Node {
                parents: revision.parents.iter().map(|p| index(p)).collect(),
                depends_on: revision.depends_on.iter().map(|d| index(&d.id)).collect(),
                labels: revision.branches.clone(),
                id: revision.id.clone(),
            };
            model.nodes.push(node);
        }
        model
    }

    /// Mostly fresh ids; now and then one sharing 4 to 6 leading characters
    /// with an earlier id, so prefixes can be ambiguous.
    fn random_id(&self, rng: &mut TestRng) -> String {
        loop {
            let mut id = String::new();
            if !self.nodes.is_empty() && rng.random_bool(0.15) {
                let other = &self.nodes[rng.random_range(0..self.nodes.len())].id;
                id.push_str(&other[..rng.random_range(4..=6)]);
            }
            while id.len() < 12 {
                id.push(char::from(b"0123456789abcdef"[rng.random_range(0..16)]));
            }
            if self.nodes.iter().all(|n| n.id != id) {
                return id;
            }
        }
    }

    /// A base now and then (up to 3), a merge, or else one parent drawn
    /// from every earlier revision, so revisions with a child already
    /// become branch points.
    fn random_parents(&self, rng: &mut TestRng) -> Vec<usize> {
        let count = self.nodes.len();
        let bases = self.nodes.iter().filter(|n| n.parents.is_empty()).count();
        let roll = rng.random_range(0..100);
        if count == 0 || (roll < 12 && bases < 3) {
            return Vec::new();
        }
        if roll < 32 {
            if let Some(pair) = self.random_merge(rng) {
                return pair;
            }
        }
        vec![rng.random_range(0..count)]
    }

    /// Two revisions neither of which comes before the other: a real fork
    /// to join.
    fn random_merge(&self, rng: &mut TestRng) -> Option<Vec<usize>> {
        for _ in 0..8 {
            let a = rng.random_range(0..self.nodes.len());
            let b = rng.random_range(0..self.nodes.len());
            if a != b && !self.before(&[a])[b] && !self.before(&[b])[a] {
                return Some(vec![a.min(b), a.max(b)]);
            }
        }
        None
    }

    /// Now and then a dependency on a revision the parents do not already
    /// bring in.
    fn random_dependency(&self, rng: &mut TestRng, parents: &[usize]) -> Vec<usize> {
        if self.nodes.is_empty() || !rng.random_bool(0.15) {
            return Vec::new();
        }
        let covered = self.before(parents);
        let candidate = rng.random_range(0..self.nodes.len());
        if covered[candidate] {
            Vec::new()
        } else {
            vec![candidate]
        }
    }

    /// Now and then a label no other revision carries: Alembic refuses a
    /// label used twice.
    fn random_label(&self, rng: &mut TestRng) -> Vec<String> {
        let unused: Vec<&str> = LABELS.into_iter().filter(|l| !self.labels().contains(l)).collect();
        if unused.is_empty() || !rng.random_bool(0.2) {
            return Vec::new();
        }
        vec![unused[rng.random_range(0..unused.len())].to_string()]
    }

    fn labels(&self) -> Vec<&str> {
        self.nodes.iter().flat_map(|n| n.labels.iter().map(String::as_str)).collect()
    }

    /// `from` and everything applied before them (parents and dependencies).
    fn before(&self, from: &[usize]) -> Vec<bool> {
        let mut seen = vec![false; self.nodes.len()];
        let mut todo = from.to_vec();
        while let Some(at) = todo.pop() {
            if !std::mem::replace(&mut seen[at], true) {
                todo.extend(self.nodes[at].parents.iter().chain(&self.nodes[at].depends_on));
            }
        }
        seen
    }

    fn ids(&self, indices: &[usize]) -> Vec<&str> {
        indices.iter().map(|&i| self.nodes[i].id.as_str()).collect()
    }

    /// The graph in [`chain`] notation, one revision a line: paste it into
    /// `Model::from_chain` to replay by hand.
    fn render(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            let mut line = node.id.clone();
            if !node.parents.is_empty() {
                line += &format!(" <- {}", self.ids(&node.parents).join(", "));
            }
            if !node.depends_on.is_empty() {
                line += &format!("  needs {}", self.ids(&node.depends_on).join(", "));
            }
            if !node.labels.is_empty() {
                line += &format!("  [{}]", node.labels.join(", "));
            }
            let _ = writeln!(out, "    {line}");
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Steps

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Upgrade,
    Downgrade,
}

#[derive(Debug, Clone)]
struct Step {
    direction: Direction,
    target: String,
}

/// The kinds of target a step draws from.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Heads,
    Head,
    Base,
    Id,
    Prefix,
    Forward,
    Back,
    IdForward,
    IdBack,
    LabelHead,
    LabelBase,
    LabelBack,
    LabelForward,
    LabelId,
}

/// Weights of the kinds for each direction: mostly targets that make sense
/// that way, the rest drawn from every kind (see [`Step::random`]).
const UPGRADE_KINDS: [(Kind, u32); 9] = [
    (Kind::Heads, 3),
    (Kind::Head, 2),
    (Kind::Id, 3),
    (Kind::Prefix, 2),
    (Kind::Forward, 3),
    (Kind::IdForward, 2),
    (Kind::LabelHead, 2),
    (Kind::LabelForward, 2),
    (Kind::LabelId, 1),
];
const DOWNGRADE_KINDS: [(Kind, u32); 8] = [
    (Kind::Base, 2),
    (Kind::Back, 4),
    (Kind::Id, 3),
    (Kind::Prefix, 2),
    (Kind::IdBack, 2),
    (Kind::LabelBack, 2),
    (Kind::LabelBase, 2),
    (Kind::LabelId, 1),
];
const ALL_KINDS: [Kind; 14] = [
    Kind::Heads,
    Kind::Head,
    Kind::Base,
    Kind::Id,
    Kind::Prefix,
    Kind::Forward,
    Kind::Back,
    Kind::IdForward,
    Kind::IdBack,
    Kind::LabelHead,
    Kind::LabelBase,
    Kind::LabelBack,
    Kind::LabelForward,
    Kind::LabelId,
];

impl Step {
    /// Upgrades a little more often than downgrades, so graphs fill up; one
    /// step in ten takes any kind of target, also the odd ones (`upgrade
    /// -1`), whose refusals must agree too.
    fn random(rng: &mut TestRng, model: &Model) -> Step {
        let direction = if rng.random_bool(0.55) { Direction::Upgrade } else { Direction::Downgrade };
        let kind = if rng.random_bool(0.1) {
            ALL_KINDS[rng.random_range(0..ALL_KINDS.len())]
        } else {
            match direction {
                Direction::Upgrade => weighted(rng, &UPGRADE_KINDS),
                Direction::Downgrade => weighted(rng, &DOWNGRADE_KINDS),
            }
        };
        Step { direction, target: random_target(rng, model, kind) }
    }

    fn render(&self) -> String {
        match self.direction {
            Direction::Upgrade => format!("upgrade {}", self.target),
            Direction::Downgrade => format!("downgrade {}", self.target),
        }
    }
}

/// Steps from `upgrade +1, downgrade base, …`.
fn steps(text: &str) -> Vec<Step> {
    let step = |item: &str| match item.trim().split_once(' ') {
        Some(("upgrade", target)) => Step { direction: Direction::Upgrade, target: target.to_string() },
        Some(("downgrade", target)) => Step { direction: Direction::Downgrade, target: target.to_string() },
        _ => panic!("bad step `{item}`"),
    };
    text.split(',').map(step).collect()
}

fn weighted(rng: &mut TestRng, kinds: &[(Kind, u32)]) -> Kind {
    let mut roll = rng.random_range(0..kinds.iter().map(|(_, w)| w).sum::<u32>());
    for &(kind, weight) in kinds {
        if roll < weight {
            return kind;
        }
        roll -= weight;
    }
    unreachable!("the roll is below the total weight")
}

fn random_target(rng: &mut TestRng, model: &Model, kind: Kind) -> String {
    let id = model.nodes[rng.random_range(0..model.nodes.len())].id.clone();
    let prefix = id[..rng.random_range(4..=8)].to_string();
    let anchor = if rng.random_bool(0.5) { id.clone() } else { prefix.clone() };
    let n = if rng.random_bool(0.6) { 1 } else { rng.random_range(2..=3) };
    let labels = model.labels();
    let label = match labels.as_slice() {
        [] => None,
        all => Some(all[rng.random_range(0..all.len())]),
    };
    match kind {
        Kind::Heads => "heads".to_string(),
        Kind::Head => "head".to_string(),
        Kind::Base => "base".to_string(),
        Kind::Id => id,
        Kind::Prefix => prefix,
        Kind::Forward => format!("+{n}"),
        Kind::Back => format!("-{n}"),
        Kind::IdForward => format!("{anchor}+{n}"),
        Kind::IdBack => format!("{anchor}-{n}"),
        // A graph without labels has only revisions to name.
        _ => match label {
            Some(label) => label_target(kind, label, &anchor, n),
            None => id,
        },
    }
}

fn label_target(kind: Kind, label: &str, anchor: &str, n: u32) -> String {
    match kind {
        Kind::LabelHead => format!("{label}@head"),
        Kind::LabelBase => format!("{label}@base"),
        Kind::LabelBack => format!("{label}@-{n}"),
        Kind::LabelForward => format!("{label}@+{n}"),
        _ => format!("{label}@{anchor}"),
    }
}

// ---------------------------------------------------------------------------
// One case through both tools

struct Case {
    /// `None` for a hand-written case.
    seed: Option<u64>,
    model: Model,
    steps: Vec<Step>,
}

/// What both tools did, step by step, up to the verdict.
struct Outcome {
    case: Case,
    alembic: Vec<StepOutcome>,
    cargo: Vec<StepOutcome>,
    verdict: Verdict,
}

enum Verdict {
    Agreed,
    /// The step at this index differs as a listed deviation.
    Deviation {
        at: usize,
        deviation: &'static Deviation,
    },
    /// The step at this index differs.
    Mismatch {
        at: usize,
    },
    /// cargo-migrate refuses a graph that Alembic loads.
    GraphRefused {
        error: String,
    },
}

/// One step's result in one tool. `tables` are the `t_<id>` tables after
/// it, sorted; Alembic's side arrives as JSON from the driver.
#[derive(Debug, Clone, serde::Deserialize)]
struct StepOutcome {
    error: Option<String>,
    warnings: Vec<String>,
    tables: Vec<String>,
}

/// A step whose outcomes differ, as [`Deviation::applies`] sees it.
struct Observed<'a> {
    step: &'a Step,
    alembic: &'a StepOutcome,
    cargo: &'a StepOutcome,
}

impl Case {
    /// Runs every step through both tools; `Err` when Alembic refuses the
    /// graph (then the case says nothing about the planner).
    fn run(self) -> Result<Outcome, String> {
        let dir = scratch_dir();
        let alembic = run_alembic(&self, dir.path())?;
        let root = dir.path().join("cargo");
        write_cargo(&self.model, &root.join("migrations"));
        let graph = match load_graph(&root, "migrations".as_ref()) {
            Ok(graph) => graph,
            Err(error) => {
                let verdict = Verdict::GraphRefused { error: error.to_string() };
                return Ok(Outcome { case: self, alembic, cargo: Vec::new(), verdict });
            }
        };
        let conn = Connection::open(dir.path().join("cargo.db")).expect("open cargo.db");
        let db = CargoDb { conn, graph, options: Options::new("app") };
        Ok(self.compare(alembic, &db))
    }

    /// Runs the steps on cargo-migrate's database until one differs from
    /// what Alembic did.
    fn compare(self, alembic: Vec<StepOutcome>, db: &CargoDb) -> Outcome {
        let mut cargo = Vec::new();
        for (at, step) in self.steps.iter().enumerate() {
            cargo.push(db.run(step));
            let seen = Observed { step, alembic: &alembic[at], cargo: &cargo[at] };
            if let Some(verdict) = seen.verdict(at) {
                return Outcome { case: self, alembic, cargo, verdict };
            }
        }
        Outcome { case: self, alembic, cargo, verdict: Verdict::Agreed }
    }
}

impl Observed<'_> {
    fn verdict(&self, at: usize) -> Option<Verdict> {
        let same_success = self.alembic.error.is_some() == self.cargo.error.is_some();
        if same_success && self.alembic.tables == self.cargo.tables {
            return None;
        }
        Some(match DEVIATIONS.iter().find(|d| (d.applies)(self)) {
            Some(deviation) => Verdict::Deviation { at, deviation },
            None => Verdict::Mismatch { at },
        })
    }
}

impl StepOutcome {
    fn warned(&self, text: &str) -> bool {
        self.warnings.iter().any(|w| w.contains(text))
    }

    fn failed_with(&self, text: &str) -> bool {
        self.error.as_deref().is_some_and(|e| e.contains(text))
    }

    fn render(&self) -> String {
        let applied: Vec<&str> = self.tables.iter().map(|t| t.trim_start_matches("t_")).collect();
        let applied = if applied.is_empty() { "nothing".to_string() } else { applied.join(" ") };
        let mut out = match &self.error {
            Some(error) => format!("failed: {error}"),
            None => "ok".to_string(),
        };
        for warning in &self.warnings {
            let _ = write!(out, " (warning: {warning})");
        }
        format!("{out}; applied: {applied}")
    }
}

/// A temporary folder, in memory where the machine has one: SQLite syncs
/// the file at every DDL commit, and on a disk those thousands of syncs are
/// most of this test's time.
fn scratch_dir() -> tempfile::TempDir {
    let memory = Path::new("/dev/shm");
    let dir = if memory.is_dir() { tempfile::tempdir_in(memory) } else { tempfile::tempdir() };
    dir.expect("a temporary folder")
}

// ---------------------------------------------------------------------------
// Alembic's side

/// Writes the script directory and runs every step in one Python process.
fn run_alembic(case: &Case, dir: &Path) -> Result<Vec<StepOutcome>, String> {
    let script_location = dir.join("alembic");
    write_alembic(&case.model, &script_location.join("versions"));
    let steps: Vec<[&str; 2]> = case.steps.iter().map(|s| [s.direction.command(), &s.target]).collect();
    let request = serde_json::json!({
        "script_location": script_location,
        "db": dir.join("alembic.db"),
        "steps": steps,
    });
    let request_path = dir.join("request.json");
    std::fs::write(&request_path, request.to_string()).expect("write request.json");
    let response = run_driver(&request_path);
    if let Some(error) = response.load_error {
        return Err(format!("Alembic refuses the graph: {error}\n{}", case.model.render()));
    }
    assert_eq!(response.steps.len(), case.steps.len(), "the driver answers every step");
    Ok(response.steps)
}

#[derive(serde::Deserialize)]
struct DriverResponse {
    load_error: Option<String>,
    #[serde(default)]
    steps: Vec<StepOutcome>,
}

fn run_driver(request: &Path) -> DriverResponse {
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/runtime/alembic_driver.py");
    let out = Command::new("python3").arg(&driver).arg(request).output().expect("run python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{} failed:\n{stderr}", driver.display());
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("driver output: {e}\n{stderr}"))
}

impl Direction {
    fn command(self) -> &'static str {
        match self {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
        }
    }
}

fn write_alembic(model: &Model, versions: &Path) {
    std::fs::create_dir_all(versions).expect("create versions/");
    for node in &model.nodes {
        let path = versions.join(format!("{}_.py", node.id));
        std::fs::write(path, alembic_version_file(model, node)).expect("write a version file");
    }
}

fn alembic_version_file(model: &Model, node: &Node) -> String {
    let labels: Vec<&str> = node.labels.iter().map(String::as_str).collect();
    format!(
        "revision = \"{id}\"\ndown_revision = {parents}\nbranch_labels = {labels}\n\
         depends_on = {depends_on}\n\nfrom alembic import op\n\n\n\
         def upgrade():\n    op.execute(\"CREATE TABLE t_{id} (x INTEGER)\")\n\n\n\
         def downgrade():\n    op.execute(\"DROP TABLE t_{id}\")\n",
        id = node.id,
        parents = python_tuple(&model.ids(&node.parents)),
        labels = python_tuple(&labels),
        depends_on = python_tuple(&model.ids(&node.depends_on)),
    )
}

/// `None` or a tuple of strings, as a version file spells them.
fn python_tuple(items: &[&str]) -> String {
    if items.is_empty() {
        return "None".to_string();
    }
    let quoted: Vec<String> = items.iter().map(|item| format!("\"{item}\"")).collect();
    format!("({},)", quoted.join(", "))
}

// ---------------------------------------------------------------------------
// cargo-migrate's side

fn write_cargo(model: &Model, migrations: &Path) {
    std::fs::create_dir_all(migrations).expect("create migrations/");
    for (created, node) in model.nodes.iter().enumerate() {
        let path = migrations.join(format!("{}_.sql", node.id));
        std::fs::write(path, cargo_revision_file(model, node, created)).expect("write a revision file");
    }
}

/// `created` counts seconds in generation order, so where the graph leaves
/// the order open both tools' files are applied in the order drawn.
fn cargo_revision_file(model: &Model, node: &Node, created: usize) -> String {
    format!(
        "-- revision: {id}\n-- revises: {parents}\n-- depends-on: {depends_on}\n-- branch: {labels}\n\
         -- message: {id}\n-- created: 2026-01-01T00:{minutes:02}:{seconds:02}Z\n\n\
         -- migrate:upgrade\nCREATE TABLE t_{id} (x INTEGER);\n\n\
         -- migrate:downgrade\nDROP TABLE t_{id};\n",
        id = node.id,
        parents = model.ids(&node.parents).join(", "),
        depends_on = model.ids(&node.depends_on).join(", "),
        labels = node.labels.join(", "),
        minutes = created / 60,
        seconds = created % 60,
    )
}

struct CargoDb {
    conn: Connection,
    graph: Graph,
    options: Options,
}

impl CargoDb {
    fn run(&self, step: &Step) -> StepOutcome {
        let migrator = SqliteMigrator::new(&self.conn, &self.graph, &self.options);
        let result = match step.direction {
            Direction::Upgrade => migrator.upgrade(&step.target, &mut |_| {}),
            Direction::Downgrade => migrator.downgrade(&step.target, &mut |_| {}),
        };
        let error = result.err().map(|e| e.to_string().split_whitespace().collect::<Vec<_>>().join(" "));
        StepOutcome { error, warnings: Vec::new(), tables: self.tables() }
    }

    fn tables(&self) -> Vec<String> {
        let sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 't_*' ORDER BY name";
        let mut statement = self.conn.prepare(sql).expect("list tables");
        let names = statement.query_map([], |row| row.get(0)).expect("list tables");
        names.collect::<Result<_, _>>().expect("read table names")
    }
}

// ---------------------------------------------------------------------------
// Reporting

#[derive(Default)]
struct Report {
    seeds: usize,
    compared: usize,
    deviations: Vec<String>,
    findings: Vec<String>,
}

impl Report {
    fn add(&mut self, seed: u64, outcome: &Outcome) {
        self.seeds += 1;
        self.compared += outcome.cargo.len();
        match &outcome.verdict {
            Verdict::Agreed => {}
            Verdict::Deviation { at, deviation } => {
                let why = format!("seed {seed} step {}: {} ({})", at + 1, deviation.name, deviation.reason);
                self.deviations.push(why);
            }
            Verdict::Mismatch { .. } | Verdict::GraphRefused { .. } => self.findings.push(outcome.render()),
        }
    }

    fn summary(&self) -> String {
        let mut out = format!(
            "alembic oracle: {} seed(s), {} step(s) compared, {} deviation(s), {} mismatch(es)",
            self.seeds,
            self.compared,
            self.deviations.len(),
            self.findings.len()
        );
        for deviation in &self.deviations {
            let _ = write!(out, "\n  deviation at {deviation}");
        }
        out
    }
}

impl Outcome {
    /// The case as a replayable story: seed, graph, steps with their agreed
    /// outcomes, and the step that differs with both outcomes.
    fn render(&self) -> String {
        let seed = self.case.seed.map_or("a hand-written case".to_string(), |s| format!("seed {s}"));
        let mut out = format!("\n=== {seed}: {}\n", self.headline());
        let _ =
            write!(out, "graph (chain notation, in created order):\n{}steps:\n", self.case.model.render());
        for (at, cargo) in self.cargo.iter().enumerate() {
            let step = self.case.steps[at].render();
            let alembic = &self.alembic[at];
            if matches!(self.verdict, Verdict::Agreed) || at + 1 < self.cargo.len() {
                let _ = writeln!(out, "  {:>3}. {step:<32} {}", at + 1, alembic.render());
            } else {
                let _ = writeln!(out, "  {:>3}. {step}", at + 1);
                let _ = writeln!(out, "       alembic:       {}", alembic.render());
                let _ = writeln!(out, "       cargo-migrate: {}", cargo.render());
            }
        }
        out
    }

    fn headline(&self) -> String {
        let (at, what) = match &self.verdict {
            Verdict::Agreed => return "agreed on every step".to_string(),
            Verdict::GraphRefused { error } => return format!("cargo-migrate refuses the graph: {error}"),
            Verdict::Deviation { at, deviation } => (*at, format!("deviation: {}", deviation.name)),
            Verdict::Mismatch { at } => (*at, self.difference(*at)),
        };
        format!("step {} `{}`: {what}", at + 1, self.case.steps[at].render())
    }

    fn difference(&self, at: usize) -> String {
        match (&self.alembic[at].error, &self.cargo[at].error) {
            (Some(_), None) => "Alembic fails, cargo-migrate succeeds".to_string(),
            (None, Some(_)) => "cargo-migrate fails, Alembic succeeds".to_string(),
            _ => "the applied revisions differ".to_string(),
        }
    }
}

//! A differential test against Alembic itself: random revision graphs from
//! fixed seeds, written both as an Alembic script directory and as
//! cargo-migrate revision files, then the same random sequence of upgrade
//! and downgrade targets run through both on separate SQLite files. After
//! every step both must have failed or both succeeded, and both must hold
//! the same `t_<id>` tables (what is applied, whatever the bookkeeping).
//!
//! cargo-migrate runs through the library; Alembic runs in one Python
//! process per graph (`alembic_driver.py`, next to this file), which answers
//! one JSON line for each JSON request line: `{"step": [COMMAND, TARGET]}`
//! runs a step, `{"restore": true}` puts back the database as it was before
//! the last step, and end of input ends it. Where we differ from Alembic on
//! purpose, [`DEVIATIONS`] says so and why: such a step sends both databases
//! back to the state before it, and the sequence goes on. A step that
//! differs otherwise is a mismatch and ends its seed's sequence. Replay a
//! run with `ALEMBIC_ORACLE_SEEDS=7` (or `1,5,9`, or `1..200`, end
//! excluded).

use crate::chain;
use migrate_runtime::apply::Options;
use migrate_runtime::chain::load_graph;
use migrate_runtime::sqlite::SqliteMigrator;
use migrate_runtime::Graph;
use proptest::prelude::RngExt;
use proptest::test_runner::{RngAlgorithm, TestRng};
use rusqlite::backup::Progress;
use rusqlite::{Connection, MAIN_DB};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Each seed is one graph and one sequence of [`STEPS_PER_SEED`] steps.
const SEEDS: [u64; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const STEPS_PER_SEED: usize = 60;
/// The steps a default run must compare at least (a mismatch ends its
/// seed's sequence early).
const MIN_COMPARED: usize = 400;
/// Branch labels: none is a hex word, so no id prefix can match one (Alembic
/// looks prefixes up among labels too).
const LABELS: [&str; 5] = ["alpha", "beta", "gamma", "delta", "omega"];

/// A deliberate difference from Alembic: when a step's outcomes differ and
/// `applies` says this is the difference meant, the step is a deviation, not
/// a failure. Both tools agreed up to that step, so both databases go back
/// to the state before it and the sequence goes on from there: neither tool
/// is ever driven on a state the other did not reach.
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
    Deviation {
        name: "a crash inside Alembic",
        reason: "an internal assertion or KeyError in Alembic is a bug in Alembic, not a semantic to \
                 copy (AssertionError at script/revision.py:1156 and :1720, KeyError at \
                 runtime/migration.py); SQLite keeps the DDL Alembic ran before the crash rolled its \
                 version table back, so the tables may differ too",
        applies: |seen| seen.alembic_crashed() && (seen.cargo.error.is_none() || seen.cargo_unchanged()),
    },
    Deviation {
        name: "`downgrade label@REV` with REV off the label's line",
        reason: "Alembic ignores the label of an absolute downgrade target (script/revision.py:1204, \
                 _parse_downgrade_target returns get_revision(symbol) without the branch check its \
                 upgrade makes); cargo-migrate refuses with \"no revision matches `label@REV`\", as \
                 Alembic's own upgrade does (script/revision.py:660, \"Revision REV is not a member of \
                 branch\", reported as \"Can't locate revision\")",
        applies: |seen| {
            let refusal = format!("no revision matches `{}`", seen.step.target);
            seen.step.direction == Direction::Downgrade
                && seen.alembic.error.is_none()
                && seen.cargo.failed_with(&refusal)
                && seen.cargo_unchanged()
                && seen.labelled_target_off_its_line()
        },
    },
    Deviation {
        name: "`label@…` downgrade above the labelled revision",
        reason: "when a downgrade to `label@…` has several children to revert from, Alembic keeps \
                 those that are ancestors of the labelled revision (script/revision.py:1370) and \
                 refuses when none is (:1383, \"Not a valid downgrade target from current heads\"), \
                 so `label@-1` or `label@REV` fails whenever REV lies above the label; cargo-migrate \
                 counts the label's descendants as its line too and reverts the children on it, as \
                 `downgrade REV` would (src/target.rs, `Target::downgrade_roots`)",
        applies: |seen| {
            seen.step.direction == Direction::Downgrade
                && seen.step.target.contains('@')
                && seen.alembic.failed_with("Not a valid downgrade target from current heads")
                && seen.cargo.error.is_none()
                && seen.cargo_reverted_only_on_the_labels_line()
        },
    },
    Deviation {
        name: "`downgrade label@head` with several heads in the chain",
        reason: "Alembic resolves the `head` of an absolute downgrade target over the whole chain, \
                 ignoring the label (script/revision.py:1204), and refuses when the chain has several \
                 heads, while its upgrade takes the label's own head (:495, get_current_head); \
                 cargo-migrate takes the label's head in both directions",
        applies: |seen| {
            let refusal =
                format!("Multiple head revisions are present for given argument '{}'", seen.step.target);
            seen.step.direction == Direction::Downgrade
                && seen.step.target.ends_with("@head")
                && seen.alembic.failed_with(&refusal)
                && seen.cargo.error.is_none()
        },
    },
    Deviation {
        name: "`downgrade label@PREFIX` unique only on the branch",
        reason: "Alembic resolves an absolute downgrade target without its label \
                 (script/revision.py:1204), so a prefix two revisions share is ambiguous there \
                 (\"Can't locate revision identified by\"), while its upgrade narrows the prefix to \
                 the branch first (:627); cargo-migrate narrows it in both directions",
        applies: |seen| {
            seen.step.direction == Direction::Downgrade
                && seen.step.target.contains('@')
                && seen.alembic.failed_with("Can't locate revision identified by")
                && seen.cargo.error.is_none()
                && seen.target_prefix_is_shared()
        },
    },
];

#[test]
fn alembic_agrees_on_random_graphs() {
    if !alembic_available() {
        return;
    }
    let chosen = seeds_from_env();
    let default_run = chosen.is_none();
    let mut report = Report::default();
    for seed in chosen.unwrap_or_else(|| SEEDS.to_vec()) {
        report.add(seed, &run_seed(seed));
    }
    let mut failures = report.findings.clone();
    if default_run && report.compared < MIN_COMPARED {
        failures.push(format!(
            "a default run compares {MIN_COMPARED} steps at least, this one {}",
            report.compared
        ));
    }
    assert!(failures.is_empty(), "{}\n{}", failures.join("\n"), report.summary());
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
    let deviated = outcome.compared.iter().any(|step| step.deviation.is_some());
    assert!(matches!(outcome.verdict, Verdict::Agreed) && !deviated, "{}", outcome.render());
}

/// `restore` puts back what the last step did, bookkeeping included, on
/// both sides: the same step then does the same again.
#[test]
fn alembic_restores_the_state_before_a_step() {
    if !alembic_available() {
        return;
    }
    let model = Model::from_chain(
        "
        aaaa00000001
        bbbb00000002 <- aaaa00000001
        ",
    );
    let dir = scratch_dir();
    let mut tools = Tools::start(&model, dir.path()).expect("both tools load a straight chain");
    let [first, last] = steps("upgrade aaaa00000001, upgrade head").try_into().expect("two steps");
    let (before, _) = tools.run(&first);
    let once = tools.run(&last);
    tools.restore(&before.tables);
    let again = tools.run(&last);
    assert_eq!(once.0.tables, ["t_aaaa00000001", "t_bbbb00000002"]);
    assert_eq!(once.0, once.1, "both tools do the same");
    assert_eq!(again, once, "the step after `restore` does the same again");
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

/// The seeds named by `ALEMBIC_ORACLE_SEEDS` (`7`, `1,5`, `1..200`), if set.
fn seeds_from_env() -> Option<Vec<u64>> {
    let text = std::env::var("ALEMBIC_ORACLE_SEEDS").ok()?;
    let number = |s: &str| s.trim().parse::<u64>().expect("ALEMBIC_ORACLE_SEEDS: `7`, `1,5` or `1..200`");
    Some(match text.split_once("..") {
        Some((from, to)) => (number(from)..number(to)).collect(),
        None => text.split(',').map(number).collect(),
    })
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

    /// `of` with its ancestors and descendants through parents alone: what
    /// Alembic counts as on the line of a label carried by `of`
    /// (script/revision.py, `_shares_lineage`).
    fn lineage(&self, of: usize) -> Vec<bool> {
        let mut line = vec![false; self.nodes.len()];
        let mut todo = vec![of];
        while let Some(at) = todo.pop() {
            if !std::mem::replace(&mut line[at], true) {
                todo.extend(&self.nodes[at].parents);
            }
        }
        // Children come after their parents: one pass down finds them all.
        let mut below = vec![false; self.nodes.len()];
        below[of] = true;
        for at in of + 1..self.nodes.len() {
            below[at] = self.nodes[at].parents.iter().any(|&p| below[p]);
            line[at] |= below[at];
        }
        line
    }

    /// The revision `symbol` names: a whole id or a prefix of one id alone,
    /// four characters at least (Alembic looks shorter ones up as labels
    /// only).
    fn find(&self, symbol: &str) -> Option<usize> {
        if symbol.len() < 4 || !symbol.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut found = self.nodes.iter().enumerate().filter(|(_, n)| n.id.starts_with(symbol));
        match (found.next(), found.next()) {
            (Some((at, _)), None) => Some(at),
            _ => None,
        }
    }

    fn labelled(&self, label: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.labels.iter().any(|l| l == label))
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
    /// The steps compared, in order; after a mismatch, the last one.
    compared: Vec<Compared>,
    verdict: Verdict,
}

/// One step through both tools.
struct Compared {
    alembic: StepOutcome,
    cargo: StepOutcome,
    /// Set when the outcomes differ as this deviation; both databases then
    /// went back to the state before the step.
    deviation: Option<&'static Deviation>,
}

enum Verdict {
    /// Every step agreed or differed as a listed deviation.
    Agreed,
    /// The step at this index differs.
    Mismatch { at: usize },
    /// cargo-migrate refuses a graph that Alembic loads.
    GraphRefused { error: String },
}

/// One step's result in one tool. `tables` are the `t_<id>` tables after
/// it, sorted; Alembic's side arrives as JSON from the driver.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
struct StepOutcome {
    error: Option<String>,
    warnings: Vec<String>,
    tables: Vec<String>,
}

/// A step whose outcomes differ, as [`Deviation::applies`] sees it.
struct Observed<'a> {
    model: &'a Model,
    step: &'a Step,
    /// The `t_<id>` tables both tools held before the step.
    before: &'a [String],
    alembic: &'a StepOutcome,
    cargo: &'a StepOutcome,
}

enum Judgement {
    Same,
    Deviation(&'static Deviation),
    Mismatch,
}

impl Case {
    /// Runs the steps through both tools; `Err` when Alembic refuses the
    /// graph (then the case says nothing about the planner).
    fn run(self) -> Result<Outcome, String> {
        let dir = scratch_dir();
        match Tools::start(&self.model, dir.path()) {
            Ok(mut tools) => Ok(self.compare(&mut tools)),
            Err(Refusal::Alembic(error)) => {
                Err(format!("Alembic refuses the graph: {error}\n{}", self.model.render()))
            }
            Err(Refusal::Cargo(error)) => {
                Ok(Outcome { case: self, compared: Vec::new(), verdict: Verdict::GraphRefused { error } })
            }
        }
    }

    /// Runs the steps through both tools until one differs other than as a
    /// listed deviation.
    fn compare(self, tools: &mut Tools) -> Outcome {
        let mut compared = Vec::new();
        let mut before = Vec::new();
        for (at, step) in self.steps.iter().enumerate() {
            let (alembic, cargo) = tools.run(step);
            let seen =
                Observed { model: &self.model, step, before: &before, alembic: &alembic, cargo: &cargo };
            let (deviation, mismatch) = match seen.judge() {
                Judgement::Same => {
                    before.clone_from(&alembic.tables);
                    (None, false)
                }
                Judgement::Deviation(deviation) => {
                    tools.restore(&before);
                    (Some(deviation), false)
                }
                Judgement::Mismatch => (None, true),
            };
            compared.push(Compared { alembic, cargo, deviation });
            if mismatch {
                return Outcome { case: self, compared, verdict: Verdict::Mismatch { at } };
            }
        }
        Outcome { case: self, compared, verdict: Verdict::Agreed }
    }
}

impl Observed<'_> {
    fn judge(&self) -> Judgement {
        let same_success = self.alembic.error.is_some() == self.cargo.error.is_some();
        if same_success && self.alembic.tables == self.cargo.tables {
            return Judgement::Same;
        }
        match DEVIATIONS.iter().find(|d| (d.applies)(self)) {
            Some(deviation) => Judgement::Deviation(deviation),
            None => Judgement::Mismatch,
        }
    }

    /// Alembic failed with an AssertionError or a KeyError raised inside
    /// it: the driver marks such a crash with where it happened, unlike
    /// Alembic's refusals (CommandError).
    fn alembic_crashed(&self) -> bool {
        let error = self.alembic.error.as_deref().unwrap_or_default();
        (error.starts_with("AssertionError: ") || error.starts_with("KeyError: "))
            && error.contains(" (at alembic/")
    }

    /// cargo-migrate's tables are those before the step.
    fn cargo_unchanged(&self) -> bool {
        self.cargo.tables == self.before
    }

    /// The revision the target names after any `label@`, if it names one.
    fn target_revision(&self) -> Option<usize> {
        let symbol = self.step.target.rsplit('@').next().unwrap_or_default();
        self.model.find(symbol)
    }

    /// The target's revision part is a hex prefix of several ids.
    fn target_prefix_is_shared(&self) -> bool {
        let symbol = self.step.target.rsplit('@').next().unwrap_or_default();
        let hex = symbol.len() >= 4 && symbol.bytes().all(|b| b.is_ascii_hexdigit());
        hex && self.model.nodes.iter().filter(|n| n.id.starts_with(symbol)).count() > 1
    }

    /// Every revision cargo-migrate reverted (if any) lies on the line
    /// (through parents) of the revision carrying the target's label.
    fn cargo_reverted_only_on_the_labels_line(&self) -> bool {
        let Some((label, _)) = self.step.target.split_once('@') else { return false };
        let Some(labelled) = self.model.labelled(label) else { return false };
        let line = self.model.lineage(labelled);
        let reverted: Vec<&String> = self.before.iter().filter(|t| !self.cargo.tables.contains(t)).collect();
        reverted
            .iter()
            .all(|table| self.model.find(table.trim_start_matches("t_")).is_some_and(|rev| line[rev]))
    }

    /// The target is `label@REV` with REV an id or prefix neither below nor
    /// above the revision carrying the label.
    fn labelled_target_off_its_line(&self) -> bool {
        let Some((label, _)) = self.step.target.split_once('@') else { return false };
        match (self.model.labelled(label), self.target_revision()) {
            (Some(labelled), Some(rev)) => !self.model.lineage(labelled)[rev],
            _ => false,
        }
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
        let mut out = match &self.error {
            Some(error) => format!("failed: {error}"),
            None => "ok".to_string(),
        };
        for warning in &self.warnings {
            let _ = write!(out, " (warning: {warning})");
        }
        format!("{out}; applied: {}", render_tables(&self.tables))
    }
}

fn render_tables(tables: &[String]) -> String {
    let applied: Vec<&str> = tables.iter().map(|t| t.trim_start_matches("t_")).collect();
    if applied.is_empty() {
        "nothing".to_string()
    } else {
        applied.join(" ")
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

/// Both tools on one graph, each with its own database in the same folder.
struct Tools {
    alembic: Alembic,
    cargo: CargoDb,
}

/// Which tool refuses the graph, in its words.
#[derive(Debug)]
enum Refusal {
    Alembic(String),
    Cargo(String),
}

impl Tools {
    fn start(model: &Model, dir: &Path) -> Result<Tools, Refusal> {
        let alembic = Alembic::start(model, dir).map_err(Refusal::Alembic)?;
        let cargo = CargoDb::open(model, dir).map_err(Refusal::Cargo)?;
        Ok(Tools { alembic, cargo })
    }

    /// Runs one step through both, cargo-migrate while Alembic works.
    fn run(&mut self, step: &Step) -> (StepOutcome, StepOutcome) {
        self.alembic.send_step(step);
        let cargo = self.cargo.run(step);
        (self.alembic.step_outcome(), cargo)
    }

    /// Puts both databases back as they were before the last step, which
    /// left these tables.
    fn restore(&mut self, tables: &[String]) {
        let alembic = self.alembic.restore();
        let cargo = self.cargo.restore();
        assert_eq!((alembic.as_slice(), cargo.as_slice()), (tables, tables), "restored tables");
    }
}

// ---------------------------------------------------------------------------
// Alembic's side

/// The driver process for one graph: requests on its stdin, one JSON answer
/// a line on its stdout.
struct Alembic {
    child: Child,
    /// `None` once closed: end of input ends the driver.
    requests: Option<ChildStdin>,
    answers: BufReader<ChildStdout>,
    /// The driver's stderr, shown when it dies.
    stderr: PathBuf,
}

#[derive(serde::Deserialize)]
struct Loaded {
    load_error: Option<String>,
}

#[derive(serde::Deserialize)]
struct Restored {
    tables: Vec<String>,
}

impl Alembic {
    /// Writes the script directory and starts the driver on it; `Err` with
    /// Alembic's words when it refuses the graph.
    fn start(model: &Model, dir: &Path) -> Result<Alembic, String> {
        let script_location = dir.join("alembic");
        write_alembic(model, &script_location.join("versions"));
        let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/runtime/alembic_driver.py");
        let stderr = dir.join("alembic.stderr");
        let mut child = Command::new("python3")
            .arg(&driver)
            .arg(&script_location)
            .arg(dir.join("alembic.db"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("create alembic.stderr"))
            .spawn()
            .expect("run python3");
        let requests = child.stdin.take();
        let answers = BufReader::new(child.stdout.take().expect("the driver's stdout"));
        let mut alembic = Alembic { child, requests, answers, stderr };
        match alembic.answer::<Loaded>().load_error {
            Some(error) => Err(error),
            None => Ok(alembic),
        }
    }

    /// Sends a step; [`Alembic::step_outcome`] reads what it did.
    fn send_step(&mut self, step: &Step) {
        self.send(&serde_json::json!({ "step": [step.direction.command(), step.target] }));
    }

    fn step_outcome(&mut self) -> StepOutcome {
        self.answer()
    }

    /// Puts the database back as it was before the last step; its tables.
    fn restore(&mut self) -> Vec<String> {
        self.send(&serde_json::json!({ "restore": true }));
        self.answer::<Restored>().tables
    }

    fn send(&mut self, request: &serde_json::Value) {
        let requests = self.requests.as_mut().expect("the driver's stdin is open");
        let sent = writeln!(requests, "{request}").and_then(|()| requests.flush());
        if let Err(error) = sent {
            self.died(&format!("cannot send {request}: {error}"));
        }
    }

    fn answer<T: serde::de::DeserializeOwned>(&mut self) -> T {
        let mut line = String::new();
        match self.answers.read_line(&mut line) {
            Ok(0) => self.died("no answer"),
            Err(error) => self.died(&format!("cannot read its answer: {error}")),
            Ok(_) => serde_json::from_str(&line).unwrap_or_else(|e| self.died(&format!("{e} in `{line}`"))),
        }
    }

    fn died(&self, what: &str) -> ! {
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        panic!("alembic_driver.py: {what}; its stderr:\n{stderr}")
    }
}

impl Drop for Alembic {
    fn drop(&mut self) {
        drop(self.requests.take());
        let _ = self.child.wait();
    }
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
    /// The database as it was before the last step.
    saved: PathBuf,
}

impl CargoDb {
    /// Writes the revision files and loads them; `Err` when cargo-migrate
    /// refuses the graph.
    fn open(model: &Model, dir: &Path) -> Result<CargoDb, String> {
        let root = dir.join("cargo");
        write_cargo(model, &root.join("migrations"));
        let graph = load_graph(&root, "migrations".as_ref()).map_err(|error| error.to_string())?;
        let conn = Connection::open(dir.join("cargo.db")).expect("open cargo.db");
        Ok(CargoDb { conn, graph, options: Options::new("app"), saved: dir.join("cargo.db.before") })
    }

    /// Copies the database aside, then runs the step.
    fn run(&self, step: &Step) -> StepOutcome {
        self.conn.backup(MAIN_DB, &self.saved, None).expect("copy cargo.db aside");
        let migrator = SqliteMigrator::new(&self.conn, &self.graph, &self.options);
        let result = match step.direction {
            Direction::Upgrade => migrator.upgrade(&step.target, &mut |_| {}),
            Direction::Downgrade => migrator.downgrade(&step.target, &mut |_| {}),
        };
        let error = result.err().map(|e| e.to_string().split_whitespace().collect::<Vec<_>>().join(" "));
        StepOutcome { error, warnings: Vec::new(), tables: self.tables() }
    }

    /// Puts the database back as it was before the last step; its tables.
    fn restore(&mut self) -> Vec<String> {
        let no_progress = None::<fn(Progress)>;
        self.conn.restore(MAIN_DB, &self.saved, no_progress).expect("put cargo.db back");
        self.tables()
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
    /// Each deviation met: its name and where (`seed 4 step 60`).
    deviations: Vec<(&'static str, String)>,
    findings: Vec<String>,
}

impl Report {
    fn add(&mut self, seed: u64, outcome: &Outcome) {
        self.seeds += 1;
        self.compared += outcome.compared.len();
        for (at, step) in outcome.compared.iter().enumerate() {
            if let Some(deviation) = step.deviation {
                self.deviations.push((deviation.name, format!("seed {seed} step {}", at + 1)));
            }
        }
        if !matches!(outcome.verdict, Verdict::Agreed) {
            self.findings.push(outcome.render());
        }
    }

    /// One line with the counts, deviations by name, then for each deviation
    /// met where it was met and why it is one.
    fn summary(&self) -> String {
        let met: Vec<(&Deviation, Vec<&str>)> =
            DEVIATIONS.iter().map(|d| (d, self.met(d))).filter(|(_, at)| !at.is_empty()).collect();
        let counts: Vec<String> = met.iter().map(|(d, at)| format!("{}: {}", d.name, at.len())).collect();
        let mut out = format!(
            "alembic oracle: {} seed(s), {} step(s) compared, {} deviation(s) [{}], {} mismatch(es)",
            self.seeds,
            self.compared,
            self.deviations.len(),
            counts.join("; "),
            self.findings.len()
        );
        for (deviation, at) in &met {
            let _ = write!(out, "\n  {}: {}\n    why: {}", deviation.name, at.join(", "), deviation.reason);
        }
        out
    }

    /// Where `deviation` was met.
    fn met(&self, deviation: &Deviation) -> Vec<&str> {
        let here = self.deviations.iter().filter(|(name, _)| *name == deviation.name);
        here.map(|(_, at)| at.as_str()).collect()
    }
}

impl Outcome {
    /// The case as a replayable story: seed, graph, steps with their agreed
    /// outcomes, both outcomes of each deviation and of the step that
    /// differs.
    fn render(&self) -> String {
        let seed = self.case.seed.map_or("a hand-written case".to_string(), |s| format!("seed {s}"));
        let mut out = format!("\n=== {seed}: {}\n", self.headline());
        let _ =
            write!(out, "graph (chain notation, in created order):\n{}steps:\n", self.case.model.render());
        for (at, compared) in self.compared.iter().enumerate() {
            let step = self.case.steps[at].render();
            let mismatch = matches!(self.verdict, Verdict::Mismatch { at: m } if m == at);
            if compared.deviation.is_none() && !mismatch {
                let _ = writeln!(out, "  {:>3}. {step:<32} {}", at + 1, compared.alembic.render());
                continue;
            }
            let _ = writeln!(out, "  {:>3}. {step}", at + 1);
            let _ = writeln!(out, "       alembic:       {}", compared.alembic.render());
            let _ = writeln!(out, "       cargo-migrate: {}", compared.cargo.render());
            if let Some(deviation) = compared.deviation {
                let _ = writeln!(out, "       deviation: {}; both back to the state before", deviation.name);
            }
        }
        out
    }

    fn headline(&self) -> String {
        let at = match &self.verdict {
            Verdict::Agreed => return "agreed on every step but listed deviations".to_string(),
            Verdict::GraphRefused { error } => return format!("cargo-migrate refuses the graph: {error}"),
            Verdict::Mismatch { at } => *at,
        };
        format!("step {} `{}`: {}", at + 1, self.case.steps[at].render(), self.difference(at))
    }

    fn difference(&self, at: usize) -> String {
        match (&self.compared[at].alembic.error, &self.compared[at].cargo.error) {
            (Some(_), None) => "Alembic fails, cargo-migrate succeeds".to_string(),
            (None, Some(_)) => "cargo-migrate fails, Alembic succeeds".to_string(),
            _ => "the applied revisions differ".to_string(),
        }
    }
}

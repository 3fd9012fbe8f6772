//! Running Alembic for `import --from alembic`: its script directory lists
//! the revisions (through Alembic's own API, so `down_revision` tuples,
//! branch labels and docstrings are read as Alembic reads them), and its
//! offline mode writes each revision's SQL (`alembic upgrade PARENT:ID
//! --sql`, `alembic downgrade ID:PARENT --sql`), run in the project's
//! folder with its `alembic.ini`. The interpreter is `$PYTHON`, else
//! `python3`; Alembic runs as `python -m alembic`, so the interpreter that
//! was checked for Alembic is the one that runs it.

use anyhow::{bail, Context as _, Result};
use migrate_runtime::chain::AlembicRevision;
use migrate_runtime::Dialect;
use serde::Deserialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// An Alembic project and the interpreter that has Alembic.
pub struct Alembic {
    python: OsString,
    project: PathBuf,
    /// `-x url=…`, naming the dialect offline SQL is written for.
    url: &'static str,
}

/// A revision as the listing script prints it.
#[derive(Deserialize)]
struct Listed {
    id: String,
    parents: Vec<String>,
    depends_on: Vec<String>,
    branch_labels: Vec<String>,
    message: String,
    path: String,
}

/// Prints the project's revisions as JSON, bases first.
const LIST: &str = r#"
import json
from alembic.config import Config
from alembic.script import ScriptDirectory

def ids(value):
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)

script = ScriptDirectory.from_config(Config("alembic.ini"))
out = []
for rev in reversed(list(script.walk_revisions())):
    # Alembic passes a label on to the revisions above it: the file's own.
    labels = getattr(rev, "_orig_branch_labels", rev.branch_labels) or ()
    out.append({
        "id": rev.revision,
        "parents": ids(rev.down_revision),
        "depends_on": ids(rev.dependencies),
        "branch_labels": sorted(labels),
        "message": (rev.doc or "").strip(),
        "path": rev.path,
    })
print(json.dumps(out))
"#;

impl Alembic {
    /// The project in `folder` (which holds `alembic.ini`), once Alembic is
    /// found importable; an error saying how to install it otherwise.
    pub fn find(folder: &Path, dialect: Dialect) -> Result<Alembic> {
        if !folder.join("alembic.ini").is_file() {
            bail!(
                "{} has no alembic.ini: give the folder of the Alembic project (where `alembic upgrade` runs)",
                folder.display()
            );
        }
        let python = std::env::var_os("PYTHON").filter(|p| !p.is_empty()).unwrap_or_else(|| "python3".into());
        let url = match dialect {
            Dialect::Sqlite => "url=sqlite://",
            Dialect::Postgres => "url=postgresql://",
        };
        let alembic = Alembic { python, project: folder.to_path_buf(), url };
        alembic.ensure_installed()?;
        Ok(alembic)
    }

    fn ensure_installed(&self) -> Result<()> {
        let python = self.python.to_string_lossy();
        let (why, install) = match self.command().args(["-c", "import alembic"]).output() {
            Ok(output) if output.status.success() => return Ok(()),
            Ok(output) => (last_line(&output), format!("{python} -m pip install alembic")),
            // No interpreter at all: name the usual one to install into.
            Err(error) => {
                (format!("cannot run `{python}`: {error}"), "python3 -m pip install alembic".to_string())
            }
        };
        bail!(
            "Alembic is not installed ({why}): Alembic revisions are Python, and their SQL is read through Alembic's offline mode. Install it with `{install}` (or set PYTHON to an interpreter that has it) and import again; nothing was written"
        )
    }

    /// Every revision with its offline SQL, bases first.
    pub fn revisions(&self) -> Result<Vec<AlembicRevision>> {
        let output = self.run(&["-c", LIST])?;
        let listed: Vec<Listed> =
            serde_json::from_slice(&output.stdout).context("cannot read the revisions Alembic listed")?;
        listed.into_iter().map(|one| self.revision(one)).collect()
    }

    fn revision(&self, listed: Listed) -> Result<AlembicRevision> {
        let id = &listed.id;
        let parent = listed.parents.first().map(String::as_str);
        let up_range = parent.map_or(id.clone(), |p| format!("{p}:{id}"));
        let upgrade = self.run(&["-m", "alembic", "-x", self.url, "upgrade", &up_range, "--sql"])?;
        let down_range = format!("{id}:{}", parent.unwrap_or("base"));
        let downgrade = self.output(&["-m", "alembic", "-x", self.url, "downgrade", &down_range, "--sql"])?;
        let downgrade_output = match downgrade.status.success() {
            true => Some(String::from_utf8_lossy(&downgrade.stdout).into_owned()),
            false => {
                crate::output::print_warning(&format!(
                    "`alembic downgrade {down_range} --sql` failed ({}): revision {id} is imported as irreversible",
                    last_line(&downgrade)
                ));
                None
            }
        };
        let path = self.relative(Path::new(&listed.path));
        let kept = migrate_runtime::chain::simple_labels(&listed.branch_labels);
        for label in listed.branch_labels.iter().filter(|l| !kept.contains(l)) {
            crate::output::print_warning(&format!(
                "{}: branch label `{label}` is left out: labels here are ASCII letters, digits, `_` and `.`",
                path.display()
            ));
        }
        Ok(AlembicRevision {
            path,
            id: listed.id,
            parents: listed.parents,
            depends_on: listed.depends_on,
            branch_labels: listed.branch_labels,
            message: listed.message,
            upgrade_output: String::from_utf8_lossy(&upgrade.stdout).into_owned(),
            downgrade_output,
        })
    }

    /// `path` (absolute, as Alembic gives it) under the project folder as
    /// the user named it.
    fn relative(&self, path: &Path) -> PathBuf {
        let project = self.project.canonicalize().unwrap_or_else(|_| self.project.clone());
        match path.strip_prefix(&project) {
            Ok(inside) => self.project.join(inside),
            Err(_) => path.to_path_buf(),
        }
    }

    /// Runs the interpreter with `args`; an error quoting Alembic's last
    /// line when it fails.
    fn run(&self, args: &[&str]) -> Result<Output> {
        let output = self.output(args)?;
        if !output.status.success() {
            let shown: Vec<&str> = args.iter().filter(|a| !a.contains('\n')).copied().collect();
            bail!(
                "`{} {}` failed in {}: {}",
                self.python.to_string_lossy(),
                shown.join(" "),
                self.project.display(),
                last_line(&output)
            );
        }
        Ok(output)
    }

    fn output(&self, args: &[&str]) -> Result<Output> {
        let python = self.python.to_string_lossy().into_owned();
        self.command().args(args).output().with_context(|| format!("cannot run `{python}`"))
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.python);
        // No `__pycache__` folders left in the user's project.
        command.current_dir(&self.project).env("PYTHONDONTWRITEBYTECODE", "1");
        command
    }
}

/// The last line Python printed on stderr: the exception, for a failure.
fn last_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message").trim().to_string()
}

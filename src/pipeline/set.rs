//! All pipelines of a folder, and which one owns each input topic.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::keys::KeyStore;

use super::compile::{referenced_rings, Pipeline, PipelineError};

/// The loaded pipelines and the topic routing table.
#[derive(Debug)]
pub struct PipelineSet {
    pipelines: Vec<Pipeline>,
    by_topic: HashMap<String, usize>,
}

/// Pipeline files (`*.toml`) in `dir`, sorted by name.
///
/// # Errors
/// [`PipelineError`] when the folder cannot be read or holds no pipeline.
pub fn pipeline_files(dir: &Path) -> Result<Vec<PathBuf>, PipelineError> {
    let entries = std::fs::read_dir(dir).map_err(|e| PipelineError {
        file: dir.display().to_string(),
        field: "(folder)".into(),
        problem: format!("cannot read pipelines folder: {e}"),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(PipelineError {
            file: dir.display().to_string(),
            field: "(folder)".into(),
            problem: "no *.toml pipeline files".into(),
        });
    }
    Ok(files)
}

/// Key rings referred to by any of `files`.
///
/// # Errors
/// [`PipelineError`] when a file cannot be read or parsed.
pub fn rings_of(files: &[PathBuf]) -> Result<Vec<String>, PipelineError> {
    let mut rings = BTreeSet::new();
    for f in files {
        rings.extend(referenced_rings(f)?);
    }
    Ok(rings.into_iter().collect())
}

impl PipelineSet {
    /// Loads and compiles every file, then checks names and topics are unique.
    ///
    /// # Errors
    /// [`PipelineError`] for the first file that fails, or a clash between files.
    pub fn load(files: &[PathBuf], keys: &KeyStore) -> Result<Self, PipelineError> {
        let pipelines =
            files.iter().map(|f| Pipeline::load(f, keys)).collect::<Result<Vec<_>, _>>()?;
        Self::new(pipelines)
    }

    /// Builds the routing table over compiled pipelines.
    ///
    /// # Errors
    /// [`PipelineError`] when two pipelines share a name or an input topic,
    /// or one's output is another's input.
    pub fn new(pipelines: Vec<Pipeline>) -> Result<Self, PipelineError> {
        let mut by_topic = HashMap::new();
        let mut names = HashMap::new();
        for (i, p) in pipelines.iter().enumerate() {
            if let Some(j) = names.insert(p.name.clone(), i) {
                let other: &Pipeline = &pipelines[j];
                return Err(PipelineError {
                    file: p.file.display().to_string(),
                    field: "name".into(),
                    problem: format!("`{}` is also the name of {}", p.name, other.file.display()),
                });
            }
            for t in &p.input_topics {
                if let Some(j) = by_topic.insert(t.clone(), i) {
                    let other: &Pipeline = &pipelines[j];
                    return Err(PipelineError {
                        file: p.file.display().to_string(),
                        field: "input.topics".into(),
                        problem: format!("topic `{t}` is already read by {}", other.file.display()),
                    });
                }
            }
        }
        let mut stat_names: HashMap<&str, usize> = HashMap::new();
        for (i, p) in pipelines.iter().enumerate() {
            for st in &p.stats {
                if let Some(j) = stat_names.insert(st.name(), i) {
                    return Err(PipelineError {
                        file: p.file.display().to_string(),
                        field: "stats.name".into(),
                        problem: format!(
                            "statistic `{}` is also declared by {}; names must be unique across pipelines",
                            st.name(),
                            pipelines[j].file.display()
                        ),
                    });
                }
            }
        }
        for p in &pipelines {
            if let Some(&j) = by_topic.get(&p.output_topic) {
                return Err(PipelineError {
                    file: p.file.display().to_string(),
                    field: "output.topic".into(),
                    problem: format!(
                        "`{}` is an input topic of {}: output would loop",
                        p.output_topic,
                        pipelines[j].file.display()
                    ),
                });
            }
        }
        Ok(PipelineSet { pipelines, by_topic })
    }

    /// The pipeline that owns `topic`.
    pub fn for_topic(&self, topic: &str) -> Option<(usize, &Pipeline)> {
        self.by_topic.get(topic).map(|&i| (i, &self.pipelines[i]))
    }

    /// A pipeline by name.
    pub fn by_name(&self, name: &str) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.name == name)
    }

    /// All pipelines in file order.
    pub fn pipelines(&self) -> &[Pipeline] {
        &self.pipelines
    }
}

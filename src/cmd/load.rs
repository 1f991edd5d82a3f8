//! The second phase of loading, shared by the commands: from a parsed
//! [`Config`] to the key rings and compiled pipelines it names. It lives in
//! the command layer because it needs the engine (pipelines) and the key
//! loader, which the config module — a leaf — must not import. The methods
//! extend [`Config`] so every command calls them the same way.

use std::path::PathBuf;

use crate::config::Config;
use crate::keys::{KeyError, KeySource, KeyStore};
use crate::pipeline::set::{pipeline_files, rings_of};
use crate::pipeline::{PipelineError, PipelineSet};

/// A key ring or pipeline that the config names and that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A key ring.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A pipeline file.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

impl Config {
    /// Loads every key ring the config names or a pipeline file refers to.
    ///
    /// # Errors
    /// [`LoadError`] for unreadable pipeline files or missing/malformed keys.
    pub fn load_keys(&self, files: &[PathBuf], env: &dyn KeySource) -> Result<KeyStore, LoadError> {
        let wanted = rings_of(files)?;
        Ok(KeyStore::load(
            &self.file.keys,
            &wanted,
            env,
            &self.base_dir,
            &self.path.display().to_string(),
        )?)
    }

    /// Loads keys and compiles every pipeline of the pipelines folder.
    ///
    /// # Errors
    /// [`LoadError`] for the first problem found.
    pub fn load_pipelines(
        &self,
        env: &dyn KeySource,
    ) -> Result<(KeyStore, PipelineSet), LoadError> {
        let files = pipeline_files(&self.pipelines_dir())?;
        let keys = self.load_keys(&files, env)?;
        let set = PipelineSet::load(&files, &keys)?;
        Ok((keys, set))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;

    /// A ring a pipeline refers to, with no key anywhere: the error names
    /// the ring and the variable, and comes from the load phase, not parsing.
    #[test]
    fn missing_key_for_a_pipeline_names_the_ring() {
        let dir = tempfile::tempdir().unwrap();
        let pipelines = dir.path().join("pipelines");
        std::fs::create_dir(&pipelines).unwrap();
        std::fs::write(
            pipelines.join("p.toml"),
            "name = \"p\"\ncategory = \"log_information\"\n[input]\ntopics = [\"a\"]\n\
             [output]\ntopic = \"b\"\n[fields]\nuser = { action = \"pseudonymize\", key = \"ids\", scope = \"user\" }\n",
        )
        .unwrap();
        let config = Config::from_text(
            "pipelines_dir = \"pipelines\"\n",
            &dir.path().join("c.toml"),
            dir.path(),
            vec![],
        )
        .unwrap();
        let err = config.load_pipelines(&BTreeMap::<String, String>::new()).unwrap_err();
        assert!(matches!(err, LoadError::Key(_)), "{err}");
        assert!(err.to_string().contains("LOGVEIL_KEY_IDS"), "{err}");
        assert!(Path::new(&config.pipelines_dir()).ends_with("pipelines"));
    }
}

//! The README's "Configuration" section stays true: its example file is
//! accepted as written, and every setting the schema knows appears in it.
//! The list of settings comes from the config loader itself (the
//! `expected one of …` of an unknown-key error), not from a copy here.

use std::path::Path;

use logveil::config::Config;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README")
}

/// The ```toml block of the "Configuration" section.
fn example(readme: &str) -> String {
    let section = readme
        .split_once("## Configuration: `config/logveil.toml`")
        .expect("a Configuration section")
        .1;
    let block = section.split_once("```toml\n").expect("a toml block").1;
    block.split_once("```").expect("a closed toml block").0.to_owned()
}

/// The settings a table accepts, as the loader lists them for a typo in it.
fn settings_of(table_header: &str) -> Vec<String> {
    let text = format!("{table_header}\nzz_not_a_setting = 1\n");
    let err = Config::from_text(&text, Path::new("c.toml"), Path::new("."), vec![])
        .expect_err("an unknown setting is refused")
        .to_string();
    let list = err.split_once("expected one of ").map(|(_, l)| l).unwrap_or_else(|| {
        err.split_once("expected ").map(|(_, l)| l).expect("the error lists the settings")
    });
    list.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

#[test]
fn the_readme_example_config_is_accepted() {
    let text = example(&readme());
    // The commented merged-mode settings are valid once the mode is merged.
    let merged = text
        .replace("mode = \"direct\"", "mode = \"merged\"")
        .replace("# partials_topic", "partials_topic")
        .replace("# merge_delay_ms", "merge_delay_ms");
    for t in [&text, &merged] {
        if let Err(e) = Config::from_text(t, Path::new("README.md"), Path::new("."), vec![]) {
            panic!("the README's example config is refused: {e}");
        }
    }
}

#[test]
fn every_setting_is_in_the_readme() {
    let readme = readme();
    let config = example(&readme);
    let tables = [("", &config), ("[service]", &config), ("[kafka]", &config)];
    let merged = "[stats]\nmode = \"merged\"";
    for (header, text) in tables.into_iter().chain([(merged, &config), ("[keys.ids]", &readme)]) {
        let names = settings_of(header);
        assert!(names.len() >= 3, "{header}: {names:?}");
        for name in names {
            // `name = …` (maybe commented out), or a table header naming it.
            let documented = text.lines().any(|l| {
                let l = l.trim_start_matches(['#', ' ']);
                let header = l.strip_prefix('[').and_then(|h| h.split_once(']')).map(|h| h.0);
                l.starts_with(&format!("{name} "))
                    || header.is_some_and(|h| h.split('.').any(|seg| seg == name))
            });
            assert!(documented, "setting `{name}` of `{header}` is not in the README");
        }
    }
}

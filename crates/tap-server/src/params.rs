//! TAP request parameters: names are case-insensitive, values are not
//! (DALI 1.1 §3.1); from the query string of a GET or the form body of a POST.

use std::collections::HashMap;

/// Parameters by upper-cased name; a repeated parameter keeps its first value.
#[derive(Debug, Default)]
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Params {
        let mut map = HashMap::new();
        for (k, v) in pairs {
            map.entry(k.to_ascii_uppercase()).or_insert(v);
        }
        Params(map)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

//! The string helpers of the `ivo_` function family (as defined by the IVOA
//! registry query language, RegTAP 1.1 §7, and used across TAP services).

/// `ivo_hasword`: `needle` occurs in `haystack` as a whole word, ignoring case.
pub fn has_word(haystack: &str, needle: &str) -> bool {
    let hay = haystack.to_lowercase();
    let needle = needle.to_lowercase();
    let needle = needle.trim();
    if needle.is_empty() {
        return false;
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(i) = hay[from..].find(needle) {
        let start = from + i;
        let end = start + needle.len();
        let before_ok = hay[..start].chars().next_back().is_none_or(|c| !is_word(c));
        let after_ok = hay[end..].chars().next().is_none_or(|c| !is_word(c));
        if before_ok && after_ok {
            return true;
        }
        from = start + needle.chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// `ivo_nocasematch`: SQL LIKE (`%`, `_`) ignoring case.
pub fn no_case_match(value: &str, pattern: &str) -> bool {
    like(
        &value.to_lowercase().chars().collect::<Vec<_>>(),
        &pattern.to_lowercase().chars().collect::<Vec<_>>(),
    )
}

fn like(v: &[char], p: &[char]) -> bool {
    // Iterative matcher with backtracking to the last '%': linear in practice.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < v.len() {
        if j < p.len() && (p[j] == '_' || p[j] == v[i]) {
            i += 1;
            j += 1;
        } else if j < p.len() && p[j] == '%' {
            star = Some((j, i));
            j += 1;
        } else if let Some((sj, si)) = star {
            j = sj + 1;
            i = si + 1;
            star = Some((sj, si + 1));
        } else {
            return false;
        }
    }
    p[j..].iter().all(|c| *c == '%')
}

/// `ivo_hashlist_has`: `item` is one of the `#`-separated entries, ignoring case.
pub fn hashlist_has(list: &str, item: &str) -> bool {
    list.split('#')
        .any(|e| e.trim().eq_ignore_ascii_case(item.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert!(has_word("A catalogue of Variable Stars", "variable"));
        assert!(!has_word("invariable", "variable"));
        assert!(has_word("x-ray binaries", "x-ray"));
        assert!(!has_word("anything", ""));
    }

    #[test]
    fn like_patterns() {
        assert!(no_case_match("NGC 1234", "ngc%"));
        assert!(no_case_match("abc", "a_c"));
        assert!(!no_case_match("abcd", "a_c"));
        assert!(no_case_match("aXbXc", "%b%"));
        assert!(no_case_match("", "%"));
    }

    #[test]
    fn hashlists() {
        assert!(hashlist_has("ivo://a#ivo://B", "ivo://b"));
        assert!(!hashlist_has("a#b", "c"));
    }
}

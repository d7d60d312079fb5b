//! Sigma condition expressions: `and`/`or`/`not`, parentheses, `1 of X`, `all of X`,
//! `them`, wildcards over selection names.

use super::matcher::Glob;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    /// Index into the rule's selections.
    Sel(usize),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    /// `1 of X` (any of the listed selections).
    OneOf(Vec<usize>),
    /// `all of X`.
    AllOf(Vec<usize>),
}

impl Cond {
    pub fn eval(&self, sel: &mut dyn FnMut(usize) -> bool) -> bool {
        match self {
            Cond::Sel(i) => sel(*i),
            Cond::Not(c) => !c.eval(sel),
            Cond::And(cs) => cs.iter().all(|c| c.eval(sel)),
            Cond::Or(cs) => cs.iter().any(|c| c.eval(sel)),
            Cond::OneOf(is) => is.iter().any(|i| sel(*i)),
            Cond::AllOf(is) => is.iter().all(|i| sel(*i)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum T<'a> {
    Open,
    Close,
    Word(&'a str),
}

fn tokenize(s: &str) -> Vec<T<'_>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in s.char_indices() {
        if c == '(' || c == ')' || c.is_whitespace() {
            if let Some(st) = start.take() {
                out.push(T::Word(&s[st..i]));
            }
            if c == '(' {
                out.push(T::Open);
            } else if c == ')' {
                out.push(T::Close);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push(T::Word(&s[st..]));
    }
    out
}

/// Deepest nesting of parentheses and `not` a condition may have. The parser and the
/// evaluator recurse once per level, so an unbounded depth (20k `(` or 100k `not`) would
/// overflow the stack and abort the whole scan; SigmaHQ's deepest condition has 3 levels.
pub(crate) const MAX_DEPTH: usize = 64;

struct Parser<'a, 'n> {
    toks: Vec<T<'a>>,
    pos: usize,
    names: &'n [String],
    depth: usize,
}

/// The condition as quoted in a reason: at most 80 characters, so a hostile 100 KB
/// condition does not become a 100 KB message.
fn shown(cond: &str) -> String {
    match cond.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &cond[..i]),
        None => cond.to_string(),
    }
}

/// Parse `cond` against the rule's selection names. Errors are human reasons used in the
/// load report (aggregations, `near`, unknown identifiers, syntax).
pub(crate) fn parse(cond: &str, names: &[String]) -> Result<Cond, String> {
    if cond.contains('|') {
        return Err(format!(
            "condition '{}' uses an aggregation ('| count()' etc.), which needs state across events and is not supported",
            shown(cond)
        ));
    }
    let toks = tokenize(cond);
    if toks
        .iter()
        .any(|t| matches!(t, T::Word(w) if w.eq_ignore_ascii_case("near")))
    {
        return Err(format!(
            "condition '{}' uses 'near', which needs state across events and is not supported",
            shown(cond)
        ));
    }
    if toks.is_empty() {
        return Err("empty condition".into());
    }
    let mut p = Parser {
        toks,
        pos: 0,
        names,
        depth: 0,
    };
    let c = p.or()?;
    if p.pos != p.toks.len() {
        return Err(format!(
            "condition '{}': unexpected token at word {}",
            shown(cond),
            p.pos + 1
        ));
    }
    Ok(c)
}

impl<'a> Parser<'a, '_> {
    fn peek_word(&self) -> Option<&'a str> {
        match self.toks.get(self.pos) {
            Some(T::Word(w)) => Some(w),
            _ => None,
        }
    }
    fn or(&mut self) -> Result<Cond, String> {
        let mut v = vec![self.and()?];
        while self
            .peek_word()
            .is_some_and(|w| w.eq_ignore_ascii_case("or"))
        {
            self.pos += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Cond::Or(v)
        })
    }
    fn and(&mut self) -> Result<Cond, String> {
        let mut v = vec![self.not()?];
        while self
            .peek_word()
            .is_some_and(|w| w.eq_ignore_ascii_case("and"))
        {
            self.pos += 1;
            v.push(self.not()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Cond::And(v)
        })
    }
    /// Enter one level of `(` or `not`; refuses past [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "condition nests parentheses/'not' deeper than {MAX_DEPTH} levels"
            ));
        }
        Ok(())
    }
    fn not(&mut self) -> Result<Cond, String> {
        if self
            .peek_word()
            .is_some_and(|w| w.eq_ignore_ascii_case("not"))
        {
            self.pos += 1;
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner)));
        }
        self.atom()
    }
    fn atom(&mut self) -> Result<Cond, String> {
        match self.toks.get(self.pos).cloned() {
            Some(T::Open) => {
                self.pos += 1;
                self.enter()?;
                let c = self.or()?;
                self.depth -= 1;
                if self.toks.get(self.pos) != Some(&T::Close) {
                    return Err("unbalanced parentheses in condition".into());
                }
                self.pos += 1;
                Ok(c)
            }
            Some(T::Close) => Err("unexpected ')' in condition".into()),
            None => Err("condition ends where an operand was expected".into()),
            Some(T::Word(w)) => {
                self.pos += 1;
                let lw = w.to_ascii_lowercase();
                if lw == "near" {
                    return Err(
                        "'near' conditions need state across events and are not supported".into(),
                    );
                }
                if lw == "and" || lw == "or" {
                    return Err(format!("'{w}' where an operand was expected"));
                }
                let quant = if lw == "1" || lw == "any" {
                    Some(false)
                } else if lw == "all" {
                    Some(true)
                } else {
                    None
                };
                if let Some(all) = quant {
                    if self
                        .peek_word()
                        .is_some_and(|x| x.eq_ignore_ascii_case("of"))
                    {
                        self.pos += 1;
                        let target = self
                            .peek_word()
                            .ok_or_else(|| format!("'{w} of' without a selection pattern"))?;
                        self.pos += 1;
                        let idx = self.expand(target)?;
                        return Ok(if all {
                            Cond::AllOf(idx)
                        } else {
                            Cond::OneOf(idx)
                        });
                    }
                    if lw != "1" {
                        // fall through: a selection literally named "all"/"any"
                    } else {
                        return Err(format!("'{w}' not followed by 'of'"));
                    }
                }
                match self.names.iter().position(|n| n == w) {
                    Some(i) => Ok(Cond::Sel(i)),
                    None => Err(format!("condition refers to unknown selection '{w}'")),
                }
            }
        }
    }
    fn expand(&self, target: &str) -> Result<Vec<usize>, String> {
        let idx: Vec<usize> = if target.eq_ignore_ascii_case("them") {
            // Spec: `them` covers every selection except those starting with `_`.
            (0..self.names.len())
                .filter(|&i| !self.names[i].starts_with('_'))
                .collect()
        } else {
            let g = Glob::parse(target, true);
            (0..self.names.len())
                .filter(|&i| g.is_match(&self.names[i]))
                .collect()
        };
        if idx.is_empty() {
            return Err(format!("'of {target}' matches no selection of the rule"));
        }
        Ok(idx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn eval(c: &Cond, truth: &[bool]) -> bool {
        c.eval(&mut |i| truth[i])
    }

    #[test]
    fn precedence_not_and_or() {
        let n = names(&["a", "b", "c"]);
        let c = parse("a or b and not c", &n).unwrap();
        assert_eq!(
            c,
            Cond::Or(vec![
                Cond::Sel(0),
                Cond::And(vec![Cond::Sel(1), Cond::Not(Box::new(Cond::Sel(2)))])
            ])
        );
        assert!(eval(&c, &[false, true, false]));
        assert!(!eval(&c, &[false, true, true]));
        let p = parse("(a or b) and not c", &n).unwrap();
        assert!(!eval(&p, &[true, false, true]));
        assert!(eval(&p, &[true, false, false]));
    }

    #[test]
    fn quantifiers_and_wildcards() {
        let n = names(&["selection", "filter_main_a", "filter_main_b", "_x"]);
        let c = parse("selection and not 1 of filter_main_*", &n).unwrap();
        assert!(eval(&c, &[true, false, false, false]));
        assert!(!eval(&c, &[true, false, true, false]));
        let all = parse("all of filter*", &n).unwrap();
        assert!(!eval(&all, &[false, true, false, false]));
        assert!(eval(&all, &[false, true, true, false]));
        let them = parse("all of them", &n).unwrap();
        assert_eq!(them, Cond::AllOf(vec![0, 1, 2]));
        assert_eq!(parse("1 of them", &n).unwrap(), Cond::OneOf(vec![0, 1, 2]));
    }

    #[test]
    fn errors_are_reasons() {
        let n = names(&["selection"]);
        assert!(parse("selection | count() > 5", &n)
            .unwrap_err()
            .contains("aggregation"));
        assert!(parse("selection and other", &n)
            .unwrap_err()
            .contains("unknown selection 'other'"));
        assert!(parse("(selection", &n).unwrap_err().contains("parenthes"));
        assert!(parse("1 of nothing*", &n)
            .unwrap_err()
            .contains("matches no"));
        assert!(parse("selection and", &n).is_err());
        assert!(parse("selection near x", &n).is_err());
    }

    #[test]
    fn depth_is_bounded_not_the_stack() {
        let n = names(&["a"]);
        let ok = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(parse(&ok, &n).unwrap(), Cond::Sel(0));
        let deep = format!(
            "{}a{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert!(parse(&deep, &n).unwrap_err().contains("deeper than 64"));
        assert!(parse(&format!("{}a", "not ".repeat(MAX_DEPTH)), &n).is_ok());
        let nots = format!("{}a", "not ".repeat(MAX_DEPTH + 1));
        assert!(parse(&nots, &n).unwrap_err().contains("deeper than 64"));
        // Mixed: depth counts both kinds.
        let mixed = format!("{}a{}", "not (".repeat(40), ")".repeat(40));
        assert!(parse(&mixed, &n).is_err());
        // A long aggregation condition is quoted shortened.
        let long = format!("a | count() > {}", "9".repeat(10_000));
        assert!(parse(&long, &n).unwrap_err().len() < 300);
    }
}

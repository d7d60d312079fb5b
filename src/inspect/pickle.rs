//! A symbolic pickle interpreter (protocols 0–5).
//!
//! It executes every opcode the way CPython's `_pickle` unpickler would, but on *symbolic*
//! values: a `GLOBAL` pushes a reference to `module.name` instead of importing it, a `REDUCE`
//! pushes "the result of calling X with these arguments" instead of calling. Because the stack
//! and the memo are modelled, the tricks that defeat opcode-pattern scanners do not work here:
//! `STACK_GLOBAL` operands fetched from the memo, names built by earlier calls, `BUILD` on a
//! module to overwrite its attributes, payloads hidden in a second pickle in the same file, or a
//! pickle that is deliberately corrupted *after* its payload ran.
//!
//! Nothing is ever imported or called. Resource use is bounded whatever the input: the stack,
//! the mark stack and the memo have hard caps; containers live in one flat arena and refer to
//! each other by index, so arbitrarily deep or cyclic structures (a list appended to itself)
//! cost nothing to build or drop and can never overflow the native stack; large strings and
//! bytes are kept as ranges into the input instead of copies; and each opcode is decoded once,
//! so the running time is linear in the input size.

use super::policy::{Class, Policy};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

pub const MAX_STACK: usize = 1 << 20;
pub const MAX_MARKS: usize = 1 << 16;
pub const MAX_MEMO: usize = 1 << 22;
/// Containers and call results one pickle may create.
pub const MAX_NODES: usize = 1 << 24;
/// Elements retained per list/dict/set (more are counted, not kept: nothing needs them).
const MAX_RETAINED: usize = 4096;
/// Strings longer than this are kept truncated (names are never this long).
const MAX_STR: usize = 4096;
/// Nested pickles (bytes handed to `pickle.loads`, object arrays...) are followed this deep.
pub const MAX_NESTING: u32 = 4;

/// Something the interpreter noticed. Turned into a report finding by the caller, which adds
/// the file and member.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: &'static str,
    pub severity: crate::finding::Severity,
    /// Byte offset of the opcode, relative to the start of the pickle's container member.
    pub offset: u64,
    /// The opcode name (`GLOBAL`, `STACK_GLOBAL`, `REDUCE`, ...).
    pub op: &'static str,
    /// `module.name` when the hit is about a global.
    pub global: Option<String>,
    /// One human sentence: why this matters.
    pub why: String,
    /// How many times the same global was referenced in this pickle.
    pub count: u64,
    /// Set for hits found inside a nested pickle: the offset of the nested pickle's bytes.
    pub nested_at: Option<u64>,
}

/// A pickle stream that could not be interpreted to its `STOP`.
#[derive(Debug, Clone, PartialEq)]
pub struct Malformed {
    pub offset: u64,
    pub message: String,
}

/// The result of interpreting the pickles found at the start of a buffer.
#[derive(Debug, Default)]
pub struct Outcome {
    pub hits: Vec<Hit>,
    /// Set when interpretation stopped before a `STOP` (truncation, bad opcode, a cap).
    pub malformed: Option<Malformed>,
    /// Highest protocol seen (`PROTO`), 0 when none.
    pub protocol: u8,
    /// Number of consecutive pickles interpreted.
    pub pickles: u32,
    /// Opcodes executed.
    pub ops: u64,
    /// Offset just after the last `STOP`.
    pub end: u64,
    /// Globals referenced (allowlisted ones included), for the JSON report.
    pub globals: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BytesSrc {
    /// A range of the interpreted buffer.
    Input { start: usize, len: usize },
}

#[derive(Debug, Clone)]
enum Val {
    None,
    Bool(bool),
    Int(i64),
    BigInt,
    Float,
    Str(Rc<str>),
    Bytes(BytesSrc),
    /// Bytes computed by a folded call (`_codecs.encode`).
    OwnedBytes(Rc<[u8]>),
    /// Containers and call results are arena indices (see [`Node`]).
    Tuple(u32),
    List(u32),
    Dict(u32),
    Set,
    /// A reference to `module.name` (a class, function or module), with the offset of the
    /// opcode that produced it.
    Global(Rc<GlobalRef>),
    /// The result of calling (REDUCE, NEWOBJ, OBJ, INST) a callable.
    Call(u32),
    PersId,
    Ext,
    Opaque,
}

#[derive(Debug)]
struct GlobalRef {
    module: Rc<str>,
    name: Rc<str>,
}

#[derive(Debug)]
enum Node {
    Seq(Vec<Val>),
    Map(Vec<(Val, Val)>),
    Call {
        func: Val,
        args: Val,
        /// State applied by BUILD.
        state: Option<Val>,
    },
}

impl Val {
    fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }
    fn as_int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            Val::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }
    fn kind(&self) -> &'static str {
        match self {
            Val::None => "None",
            Val::Bool(_) => "bool",
            Val::Int(_) | Val::BigInt => "int",
            Val::Float => "float",
            Val::Str(_) => "str",
            Val::Bytes(_) | Val::OwnedBytes(_) => "bytes",
            Val::Tuple(_) => "tuple",
            Val::List(_) => "list",
            Val::Dict(_) => "dict",
            Val::Set => "set",
            Val::Global(_) => "global",
            Val::Call(_) => "call result",
            Val::PersId => "persistent id",
            Val::Ext => "extension",
            Val::Opaque => "value",
        }
    }
}

/// Interpreter state for one buffer.
pub struct Interp<'a> {
    buf: &'a [u8],
    pos: usize,
    policy: &'a Policy,
    stack: Vec<Val>,
    marks: Vec<usize>,
    memo: HashMap<u64, Val>,
    arena: Vec<Node>,
    out: Outcome,
    /// `module.name` → index into `out.hits`, to count repeats instead of repeating hits.
    seen: HashMap<String, usize>,
    /// Ranges already followed as nested pickles (a memoised payload used a million times is
    /// interpreted once).
    nested_done: HashSet<(usize, usize)>,
    nesting: u32,
    /// Offset of the current opcode.
    op_at: usize,
    globals_seen: HashSet<String>,
}

type Step = Result<(), String>;

impl<'a> Interp<'a> {
    pub fn new(buf: &'a [u8], policy: &'a Policy) -> Interp<'a> {
        Interp {
            buf,
            pos: 0,
            policy,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            arena: Vec::new(),
            out: Outcome::default(),
            seen: HashMap::new(),
            nested_done: HashSet::new(),
            nesting: 0,
            op_at: 0,
            globals_seen: HashSet::new(),
        }
    }

    /// Interpret consecutive pickles from offset 0 while the next bytes look like another
    /// pickle (`pickle.load` called in a loop, as legacy PyTorch files and some bypasses do).
    /// `max_pickles` bounds how many (legacy PyTorch: 5).
    pub fn run(mut self, max_pickles: u32) -> Outcome {
        loop {
            self.stack.clear();
            self.marks.clear();
            self.memo.clear();
            self.arena.clear();
            match self.one() {
                Ok(()) => {
                    self.out.pickles += 1;
                    self.out.end = self.pos as u64;
                    if self.out.pickles >= max_pickles
                        || !looks_like_next_pickle(&self.buf[self.pos..])
                    {
                        break;
                    }
                }
                Err(message) => {
                    self.out.malformed = Some(Malformed {
                        offset: self.op_at as u64,
                        message,
                    });
                    break;
                }
            }
        }
        let mut g: Vec<String> = self.globals_seen.into_iter().collect();
        g.sort();
        self.out.globals = g;
        self.out
    }

    fn hit(
        &mut self,
        id: &'static str,
        sev: crate::finding::Severity,
        op: &'static str,
        global: Option<String>,
        why: String,
    ) {
        let key = format!("{id}\0{}\0{why}", global.as_deref().unwrap_or(""));
        if let Some(&i) = self.seen.get(&key) {
            self.out.hits[i].count += 1;
            return;
        }
        self.seen.insert(key, self.out.hits.len());
        self.out.hits.push(Hit {
            id,
            severity: sev,
            offset: self.op_at as u64,
            op,
            global,
            why,
            count: 1,
            nested_at: None,
        });
    }

    // ---- reading ----

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.buf.len() - self.pos {
            return Err(format!(
                "truncated: {n} bytes wanted, {} left",
                self.buf.len() - self.pos
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes(b.try_into().unwrap()))
    }
    fn i32(&mut self) -> Result<i32, String> {
        Ok(self.u32()? as i32)
    }
    fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap()))
    }
    fn line(&mut self) -> Result<&'a [u8], String> {
        let rest = &self.buf[self.pos..];
        match memchr(b'\n', rest) {
            Some(i) => {
                self.pos += i + 1;
                Ok(&rest[..i])
            }
            None => Err("truncated: line without newline".into()),
        }
    }
    fn len_from(&mut self, n: u64) -> Result<usize, String> {
        let left = (self.buf.len() - self.pos) as u64;
        if n > left {
            return Err(format!(
                "truncated: length {n} exceeds the {left} bytes left"
            ));
        }
        Ok(n as usize)
    }

    // ---- stack ----

    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }
    fn push(&mut self, v: Val) -> Step {
        if self.stack.len() >= MAX_STACK {
            return Err(format!("stack limit of {MAX_STACK} values exceeded"));
        }
        self.stack.push(v);
        Ok(())
    }
    fn pop(&mut self) -> Result<Val, String> {
        if self.stack.len() <= self.fence() {
            return Err("stack underflow".into());
        }
        Ok(self.stack.pop().unwrap())
    }
    fn top(&self) -> Result<&Val, String> {
        if self.stack.len() <= self.fence() {
            return Err("stack underflow".into());
        }
        Ok(self.stack.last().unwrap())
    }
    fn pop_mark(&mut self) -> Result<Vec<Val>, String> {
        let m = self.marks.pop().ok_or("MARK expected on the stack")?;
        Ok(self.stack.split_off(m))
    }
    fn memo_put(&mut self, k: u64, v: Val) -> Step {
        if self.memo.len() >= MAX_MEMO && !self.memo.contains_key(&k) {
            return Err(format!("memo limit of {MAX_MEMO} entries exceeded"));
        }
        self.memo.insert(k, v);
        Ok(())
    }
    fn memo_get(&mut self, k: u64) -> Step {
        match self.memo.get(&k) {
            Some(v) => {
                let v = v.clone();
                self.push(v)
            }
            None => Err(format!("memo key {k} was never stored")),
        }
    }

    fn node(&mut self, n: Node) -> Result<u32, String> {
        if self.arena.len() >= MAX_NODES {
            return Err(format!(
                "object limit of {MAX_NODES} containers/calls exceeded"
            ));
        }
        self.arena.push(n);
        Ok((self.arena.len() - 1) as u32)
    }
    fn tuple(&mut self, mut items: Vec<Val>) -> Result<Val, String> {
        items.truncate(MAX_RETAINED);
        Ok(Val::Tuple(self.node(Node::Seq(items))?))
    }
    /// The items of a tuple/list value (empty for anything else).
    fn seq(&self, v: &Val) -> &[Val] {
        match v {
            Val::Tuple(i) | Val::List(i) => match &self.arena[*i as usize] {
                Node::Seq(items) => items,
                _ => &[],
            },
            _ => &[],
        }
    }

    fn str_val(&self, s: &str) -> Val {
        if s.len() > MAX_STR {
            let mut end = MAX_STR;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            Val::Str(Rc::from(&s[..end]))
        } else {
            Val::Str(Rc::from(s))
        }
    }

    fn utf8(&mut self, n: usize) -> Result<Val, String> {
        let b = self.take(n)?;
        let s = std::str::from_utf8(b).map_err(|e| format!("invalid UTF-8 in string: {e}"))?;
        Ok(self.str_val(s))
    }

    fn bytes(&mut self, n: usize) -> Result<Val, String> {
        let start = self.pos;
        self.take(n)?;
        let v = Val::Bytes(BytesSrc::Input { start, len: n });
        self.maybe_embedded(start, n);
        Ok(v)
    }

    /// A bytes constant that is itself a complete pickle is followed (findings only): it is
    /// how payloads are smuggled to a loader called later.
    fn maybe_embedded(&mut self, start: usize, len: usize) {
        if len >= 4
            && self.buf[start] == 0x80
            && self.buf[start + 1] <= 5
            && self.buf[start + len - 1] == b'.'
        {
            self.nested(start, len, false);
        }
    }

    /// Interpret `buf[start..start+len]` as a nested pickle and merge its hits.
    fn nested(&mut self, start: usize, len: usize, report_errors: bool) {
        if self.nesting >= MAX_NESTING || !self.nested_done.insert((start, len)) {
            return;
        }
        let sub = &self.buf[start..start + len];
        let mut inner = Interp::new(sub, self.policy);
        inner.nesting = self.nesting + 1;
        let out = inner.run(1);
        self.absorb(out, start as u64, report_errors);
    }

    fn absorb(&mut self, out: Outcome, at: u64, report_errors: bool) {
        for mut h in out.hits {
            h.offset += at;
            h.nested_at = Some(h.nested_at.map_or(at, |n| n + at));
            self.out.hits.push(h);
        }
        for g in out.globals {
            self.globals_seen.insert(g);
        }
        if report_errors {
            if let Some(m) = out.malformed {
                self.out.hits.push(Hit {
                    id: "inspect.pickle.malformed",
                    severity: crate::finding::Severity::Medium,
                    offset: at + m.offset,
                    op: "nested",
                    global: None,
                    why: format!("nested pickle is malformed: {}", m.message),
                    count: 1,
                    nested_at: Some(at),
                });
            }
        }
    }

    /// `report_errors`: only for bytes handed to a loader. Bytes followed on speculation
    /// (any `_codecs.encode` result that might be a pickle) are usually array data, and
    /// random data that fails to parse is no finding (it made benign protocol-2 numpy
    /// pickles "malformed": benches/inspect_bench.sh).
    fn owned_nested(&mut self, data: &[u8], report_errors: bool) {
        if self.nesting >= MAX_NESTING {
            return;
        }
        let mut inner = Interp::new(data, self.policy);
        inner.nesting = self.nesting + 1;
        let out = inner.run(1);
        let at = self.op_at as u64;
        self.absorb(out, at, report_errors);
    }

    // ---- globals ----

    fn global(&mut self, module: &str, name: &str, op: &'static str) -> Result<Val, String> {
        let class = self.policy.classify(module, name);
        let full = format!("{module}.{name}");
        self.globals_seen.insert(full.clone());
        match class {
            Class::Allowed => {}
            Class::Unknown => self.hit(
                "inspect.pickle.unknown_global",
                crate::finding::Severity::Medium,
                op,
                Some(full),
                "imports a global that is not on the allowlist of ordinary ML globals".into(),
            ),
            Class::Dangerous(why) => self.hit(
                "inspect.pickle.dangerous_global",
                crate::finding::Severity::Critical,
                op,
                Some(full),
                why,
            ),
        }
        Ok(Val::Global(Rc::new(GlobalRef {
            module: Rc::from(module),
            name: Rc::from(name),
        })))
    }

    fn line_ident(&mut self, what: &str) -> Result<String, String> {
        let l = self.line()?;
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        let s = std::str::from_utf8(l).map_err(|_| format!("{what} name is not UTF-8"))?;
        if !is_dotted_ident(s) {
            return Err(format!(
                "{what} name {:?} is not a Python identifier",
                truncate(s)
            ));
        }
        Ok(s.to_string())
    }

    // ---- calls ----

    fn call(&mut self, func: Val, args: Val, op: &'static str) -> Result<Val, String> {
        match &func {
            Val::Global(g) => {
                let full = format!("{}.{}", g.module, g.name);
                if let Some(v) = self.fold(&full, &args) {
                    return Ok(v);
                }
                if self.policy.is_loader(&full) {
                    match self.seq(&args).first().cloned() {
                        Some(Val::Bytes(BytesSrc::Input { start, len })) => {
                            self.nested(start, len, true)
                        }
                        Some(Val::OwnedBytes(b)) => self.owned_nested(&b, true),
                        _ => {}
                    }
                }
            }
            Val::Call(_) | Val::PersId | Val::Ext | Val::Opaque => {
                self.hit(
                    "inspect.pickle.computed_call",
                    crate::finding::Severity::High,
                    op,
                    None,
                    format!(
                        "calls a {} that was computed inside the pickle, not a named global",
                        func.kind()
                    ),
                );
            }
            other => {
                // Calling a str/int/list... raises at load time; nothing runs, but a loader
                // that got this far was handed something odd.
                self.hit(
                    "inspect.pickle.odd_call",
                    crate::finding::Severity::Medium,
                    op,
                    None,
                    format!("calls a {} (raises when loaded)", other.kind()),
                );
            }
        }
        Ok(Val::Call(self.node(Node::Call {
            func,
            args,
            state: None,
        })?))
    }

    /// Constant-fold the few calls whose result matters for following payloads:
    /// `_codecs.encode(str, "latin1")` is how protocol-2 pickles spell bytes.
    fn fold(&mut self, full: &str, args: &Val) -> Option<Val> {
        if full != "_codecs.encode" && full != "codecs.encode" {
            return None;
        }
        let items = self.seq(args);
        let s = items.first()?.as_str()?.to_string();
        let enc = items
            .get(1)
            .and_then(Val::as_str)
            .unwrap_or("utf-8")
            .to_string();
        let bytes: Vec<u8> = match enc.to_ascii_lowercase().replace('_', "-").as_str() {
            "latin1" | "latin-1" | "iso-8859-1" | "l1" => {
                let mut v = Vec::with_capacity(s.len());
                for c in s.chars() {
                    let c = c as u32;
                    if c > 255 {
                        return None;
                    }
                    v.push(c as u8);
                }
                v
            }
            "utf-8" | "utf8" => s.into_bytes(),
            _ => return None,
        };
        if bytes.len() >= 2 && (bytes[0] == 0x80 || bytes.last() == Some(&b'.')) {
            self.owned_nested(&bytes, false);
        }
        Some(Val::OwnedBytes(Rc::from(bytes)))
    }

    fn build(&mut self, obj: &Val, state: Val) -> Step {
        match obj {
            Val::Global(g) => {
                self.hit(
                    "inspect.pickle.global_mutation",
                    crate::finding::Severity::Critical,
                    "BUILD",
                    Some(format!("{}.{}", g.module, g.name)),
                    "BUILD sets attributes on an imported module, class or function (overrides what later globals resolve to)".into(),
                );
            }
            Val::Call(i) => {
                let Node::Call {
                    func, state: st, ..
                } = &mut self.arena[*i as usize]
                else {
                    return Ok(());
                };
                let joblib = matches!(func, Val::Global(g) if g.name.as_ref() == "NumpyArrayWrapper"
                    && g.module.ends_with("numpy_pickle"));
                *st = Some(state.clone());
                if joblib {
                    self.joblib_array(&state)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// joblib writes each numpy array's raw bytes straight after the `BUILD` of its
    /// `NumpyArrayWrapper`, inside the pickle stream; its unpickler reads them there. Skip them
    /// exactly (or, for object arrays, interpret the embedded pickle they are).
    fn joblib_array(&mut self, state: &Val) -> Step {
        let d: &[(Val, Val)] = match state {
            Val::Dict(i) => match &self.arena[*i as usize] {
                Node::Map(m) => m,
                _ => &[],
            },
            _ => return Err("joblib NumpyArrayWrapper state is not a dict".into()),
        };
        let get = |k: &str| {
            d.iter()
                .rev()
                .find(|(kk, _)| kk.as_str() == Some(k))
                .map(|(_, v)| v.clone())
        };
        let dtype = get("dtype")
            .and_then(|v| self.dtype_str(&v))
            .ok_or("joblib array without a readable dtype")?;
        let shape = get("shape")
            .and_then(|v| {
                self.seq(&v)
                    .iter()
                    .map(Val::as_int)
                    .collect::<Option<Vec<i64>>>()
            })
            .ok_or("joblib array without a readable shape")?;
        let align = get("numpy_array_alignment_bytes").and_then(|v| v.as_int());
        if dtype_has_object(&dtype) {
            // joblib pickles object arrays inline with protocol 2.
            let start = self.pos;
            let mut inner = Interp::new(&self.buf[start..], self.policy);
            inner.nesting = self.nesting + 1;
            let out = inner.run(1);
            let end = out.end as usize;
            let bad = out.malformed.clone();
            self.absorb(out, start as u64, false);
            if let Some(m) = bad {
                return Err(format!("joblib object array: {}", m.message));
            }
            self.pos = start + end;
            return Ok(());
        }
        let item = dtype_itemsize(&dtype)
            .ok_or_else(|| format!("joblib array with unsupported dtype {dtype:?}"))?;
        let mut n: u64 = item;
        for s in shape {
            if s < 0 {
                return Err("joblib array with a negative dimension".into());
            }
            n = n
                .checked_mul(s as u64)
                .ok_or("joblib array size overflows")?;
        }
        if align.is_some() {
            let pad = self.u8()? as u64;
            let pad = self.len_from(pad)?;
            self.pos += pad;
        }
        let n = self.len_from(n)?;
        self.pos += n;
        Ok(())
    }

    // ---- the loop ----

    fn one(&mut self) -> Step {
        loop {
            self.op_at = self.pos;
            let op = self.u8()?;
            self.out.ops += 1;
            match op {
                0x80 => {
                    let p = self.u8()?;
                    if p > 5 {
                        return Err(format!("unsupported pickle protocol {p}"));
                    }
                    self.out.protocol = self.out.protocol.max(p);
                }
                0x95 => {
                    // FRAME: a length prefix only; the opcodes follow inline.
                    let n = self.u64()?;
                    self.len_from(n)?;
                }
                b'.' => {
                    self.pop()?;
                    return Ok(());
                }
                b'(' => {
                    if self.marks.len() >= MAX_MARKS {
                        return Err(format!("mark limit of {MAX_MARKS} exceeded"));
                    }
                    self.marks.push(self.stack.len());
                }
                b'0' => {
                    if self.marks.last() == Some(&self.stack.len()) {
                        self.marks.pop();
                    } else {
                        self.pop()?;
                    }
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.push(v)?;
                }
                b'N' => self.push(Val::None)?,
                0x88 => self.push(Val::Bool(true))?,
                0x89 => self.push(Val::Bool(false))?,
                b'I' => {
                    let l = self.line()?;
                    let v = match l {
                        b"00" => Val::Bool(false),
                        b"01" => Val::Bool(true),
                        _ => parse_int(l).ok_or("INT argument is not an integer")?,
                    };
                    self.push(v)?;
                }
                b'L' => {
                    let l = self.line()?;
                    let l = l.strip_suffix(b"L").unwrap_or(l);
                    let v = parse_int(l).ok_or("LONG argument is not an integer")?;
                    self.push(v)?;
                }
                b'J' => {
                    let v = self.i32()? as i64;
                    self.push(Val::Int(v))?
                }
                b'K' => {
                    let v = self.u8()? as i64;
                    self.push(Val::Int(v))?
                }
                b'M' => {
                    let v = self.u16()? as i64;
                    self.push(Val::Int(v))?
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    self.push(long_le(b))?;
                }
                0x8b => {
                    let n = self.i32()?;
                    if n < 0 {
                        return Err("LONG4 with a negative length".into());
                    }
                    let n = self.len_from(n as u64)?;
                    let b = self.take(n)?;
                    self.push(long_le(b))?;
                }
                b'F' => {
                    let l = self.line()?;
                    std::str::from_utf8(l)
                        .ok()
                        .and_then(|s| s.trim().parse::<f64>().ok())
                        .ok_or("FLOAT argument is not a number")?;
                    self.push(Val::Float)?;
                }
                b'G' => {
                    self.take(8)?;
                    self.push(Val::Float)?;
                }
                b'S' => {
                    let l = self.line()?;
                    let s = unquote_py2(l).ok_or("STRING argument is not a quoted string")?;
                    let v = self.str_val(&s);
                    self.push(v)?;
                }
                b'T' => {
                    let n = self.i32()?;
                    if n < 0 {
                        return Err("BINSTRING with a negative length".into());
                    }
                    let n = self.len_from(n as u64)?;
                    let b = self.take(n)?;
                    let v = self.str_val(&latin1(b));
                    self.push(v)?;
                }
                b'U' => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    let v = self.str_val(&latin1(b));
                    self.push(v)?;
                }
                b'V' => {
                    let l = self.line()?;
                    let s = raw_unicode_escape(l).ok_or("UNICODE argument has a bad escape")?;
                    let v = self.str_val(&s);
                    self.push(v)?;
                }
                b'X' => {
                    let n = self.u32()? as u64;
                    let n = self.len_from(n)?;
                    let v = self.utf8(n)?;
                    self.push(v)?;
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let v = self.utf8(n)?;
                    self.push(v)?;
                }
                0x8d => {
                    let n = self.u64()?;
                    let n = self.len_from(n)?;
                    let v = self.utf8(n)?;
                    self.push(v)?;
                }
                b'B' => {
                    let n = self.u32()? as u64;
                    let n = self.len_from(n)?;
                    let v = self.bytes(n)?;
                    self.push(v)?;
                }
                b'C' => {
                    let n = self.u8()? as usize;
                    let v = self.bytes(n)?;
                    self.push(v)?;
                }
                0x8e | 0x96 => {
                    let n = self.u64()?;
                    let n = self.len_from(n)?;
                    let v = self.bytes(n)?;
                    self.push(v)?;
                }
                0x97 | 0x98 => {
                    // Out-of-band buffers: pickle.load without `buffers=` raises here.
                    if op == 0x97 {
                        return Err("NEXT_BUFFER without out-of-band buffers".into());
                    }
                    self.top()?;
                }
                b')' => {
                    let v = self.tuple(Vec::new())?;
                    self.push(v)?
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < self.fence() + n {
                        return Err("stack underflow".into());
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    let v = self.tuple(items)?;
                    self.push(v)?
                }
                b't' => {
                    let items = self.pop_mark()?;
                    let v = self.tuple(items)?;
                    self.push(v)?
                }
                b']' => {
                    let v = Val::List(self.node(Node::Seq(Vec::new()))?);
                    self.push(v)?
                }
                b'l' => {
                    let mut items = self.pop_mark()?;
                    items.truncate(MAX_RETAINED);
                    let v = Val::List(self.node(Node::Seq(items))?);
                    self.push(v)?
                }
                b'}' => {
                    let v = Val::Dict(self.node(Node::Map(Vec::new()))?);
                    self.push(v)?
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err("DICT with an odd number of items".into());
                    }
                    let mut pairs = pairs(items);
                    pairs.truncate(MAX_RETAINED);
                    let v = Val::Dict(self.node(Node::Map(pairs))?);
                    self.push(v)?
                }
                0x8f => self.push(Val::Set)?,
                0x91 => {
                    self.pop_mark()?;
                    self.push(Val::Set)?
                }
                0x90 => {
                    let items = self.pop_mark()?;
                    let target = self.top()?.clone();
                    self.container_call(&target, "ADDITEMS", items.len())?;
                }
                b'a' => {
                    let v = self.pop()?;
                    let target = self.top()?.clone();
                    self.append(&target, vec![v], "APPEND")?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let target = self.top()?.clone();
                    self.append(&target, items, "APPENDS")?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let target = self.top()?.clone();
                    self.add_pairs(&target, vec![(k, v)], "SETITEM")?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err("SETITEMS with an odd number of items".into());
                    }
                    let target = self.top()?.clone();
                    self.add_pairs(&target, pairs(items), "SETITEMS")?;
                }
                b'p' => {
                    let l = self.line()?;
                    let k = parse_u64(l).ok_or("PUT argument is not an index")?;
                    let v = self.top()?.clone();
                    self.memo_put(k, v)?;
                }
                b'q' => {
                    let k = self.u8()? as u64;
                    let v = self.top()?.clone();
                    self.memo_put(k, v)?;
                }
                b'r' => {
                    let k = self.u32()? as u64;
                    let v = self.top()?.clone();
                    self.memo_put(k, v)?;
                }
                0x94 => {
                    let k = self.memo.len() as u64;
                    let v = self.top()?.clone();
                    self.memo_put(k, v)?;
                }
                b'g' => {
                    let l = self.line()?;
                    let k = parse_u64(l).ok_or("GET argument is not an index")?;
                    self.memo_get(k)?;
                }
                b'h' => {
                    let k = self.u8()? as u64;
                    self.memo_get(k)?;
                }
                b'j' => {
                    let k = self.u32()? as u64;
                    self.memo_get(k)?;
                }
                b'c' => {
                    let module = self.line_ident("module")?;
                    let name = self.line_ident("global")?;
                    let v = self.global(&module, &name, "GLOBAL")?;
                    self.push(v)?;
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let v = match (module.as_str(), name.as_str()) {
                        (Some(m), Some(n)) => {
                            let (m, n) = (m.to_string(), n.to_string());
                            self.global(&m, &n, "STACK_GLOBAL")?
                        }
                        _ => {
                            self.hit(
                                "inspect.pickle.dynamic_global",
                                crate::finding::Severity::Critical,
                                "STACK_GLOBAL",
                                None,
                                format!(
                                    "STACK_GLOBAL with a computed module/name ({} / {}): the import target is decided at load time",
                                    module.kind(),
                                    name.kind()
                                ),
                            );
                            Val::Opaque
                        }
                    };
                    self.push(v)?;
                }
                b'i' => {
                    let module = self.line_ident("module")?;
                    let name = self.line_ident("class")?;
                    let args = self.pop_mark()?;
                    let g = self.global(&module, &name, "INST")?;
                    let args = self.tuple(args)?;
                    let v = self.call(g, args, "INST")?;
                    self.push(v)?;
                }
                b'o' => {
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return Err("OBJ without a class".into());
                    }
                    let cls = items.remove(0);
                    let args = self.tuple(items)?;
                    let v = self.call(cls, args, "OBJ")?;
                    self.push(v)?;
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let v = self.call(func, args, "REDUCE")?;
                    self.push(v)?;
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let v = self.call(cls, args, "NEWOBJ")?;
                    self.push(v)?;
                }
                0x92 => {
                    let _kwargs = self.pop()?;
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let v = self.call(cls, args, "NEWOBJ_EX")?;
                    self.push(v)?;
                }
                b'b' => {
                    let state = self.pop()?;
                    let obj = self.top()?.clone();
                    self.build(&obj, state)?;
                }
                b'P' => {
                    self.line()?;
                    self.push(Val::PersId)?;
                }
                b'Q' => {
                    self.pop()?;
                    self.push(Val::PersId)?;
                }
                0x82..=0x84 => {
                    let code = match op {
                        0x82 => self.u8()? as i64,
                        0x83 => self.u16()? as i64,
                        _ => self.i32()? as i64,
                    };
                    self.hit(
                        "inspect.pickle.extension",
                        crate::finding::Severity::High,
                        "EXT",
                        None,
                        format!("extension code {code} imports whatever copyreg's registry maps it to at load time"),
                    );
                    self.push(Val::Ext)?;
                }
                other => {
                    return Err(format!("invalid opcode 0x{other:02x}"));
                }
            }
        }
    }

    /// The dtype string of a `numpy.dtype(...)` call value (`'f8'`, `'<i4'`, `'O8'`).
    fn dtype_str(&self, v: &Val) -> Option<String> {
        match v {
            Val::Call(i) => match &self.arena[*i as usize] {
                Node::Call { args, .. } => self.seq(args).first()?.as_str().map(str::to_string),
                _ => None,
            },
            Val::Str(s) => Some(s.to_string()),
            _ => None,
        }
    }

    fn append(&mut self, target: &Val, items: Vec<Val>, op: &'static str) -> Step {
        match target {
            Val::List(i) => {
                if let Node::Seq(l) = &mut self.arena[*i as usize] {
                    let room = MAX_RETAINED.saturating_sub(l.len());
                    l.extend(items.into_iter().take(room));
                }
                Ok(())
            }
            other => {
                let other = other.clone();
                self.container_call(&other, op, items.len())
            }
        }
    }

    fn add_pairs(&mut self, target: &Val, items: Vec<(Val, Val)>, op: &'static str) -> Step {
        match target {
            Val::Dict(i) => {
                if let Node::Map(m) = &mut self.arena[*i as usize] {
                    let room = MAX_RETAINED.saturating_sub(m.len());
                    m.extend(items.into_iter().take(room));
                }
                Ok(())
            }
            other => {
                let other = other.clone();
                self.container_call(&other, op, items.len())
            }
        }
    }

    /// APPEND/SETITEM/ADDITEMS on something that is not a list/dict/set calls its `append`,
    /// `extend`, `__setitem__` or `add` method. On an instance of an allowlisted class that is
    /// ordinary (OrderedDict, defaultdict); on an imported object it is a method call.
    fn container_call(&mut self, target: &Val, op: &'static str, _n: usize) -> Step {
        match target {
            Val::Global(g) => {
                self.hit(
                    "inspect.pickle.global_mutation",
                    crate::finding::Severity::Critical,
                    op,
                    Some(format!("{}.{}", g.module, g.name)),
                    format!("{op} on an imported object calls its methods at load time"),
                );
                Ok(())
            }
            Val::Call(_) | Val::Set | Val::Opaque | Val::PersId | Val::Ext => Ok(()),
            other => Err(format!("{op} on a {}", other.kind())),
        }
    }
}

fn pairs(items: Vec<Val>) -> Vec<(Val, Val)> {
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

/// After a `STOP`: does another pickle follow (as `pickle.load` in a loop would read)?
pub fn looks_like_next_pickle(rest: &[u8]) -> bool {
    rest.len() >= 3 && rest[0] == 0x80 && rest[1] <= 5
}

fn memchr(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

/// `a.b.c` where each part is a Python identifier (Unicode letters allowed).
pub fn is_dotted_ident(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|p| {
            let mut c = p.chars();
            matches!(c.next(), Some(f) if f == '_' || f.is_alphabetic())
                && c.all(|ch| ch == '_' || ch.is_alphanumeric())
        })
}

fn parse_int(l: &[u8]) -> Option<Val> {
    let s = std::str::from_utf8(l).ok()?.trim();
    let s2 = s.replace('_', "");
    let digits = s2.strip_prefix(['-', '+']).unwrap_or(&s2);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s2.parse::<i64>().map(Val::Int).unwrap_or(Val::BigInt))
}

fn parse_u64(l: &[u8]) -> Option<u64> {
    std::str::from_utf8(l).ok()?.trim().parse().ok()
}

fn long_le(b: &[u8]) -> Val {
    if b.is_empty() {
        return Val::Int(0);
    }
    if b.len() > 8 {
        return Val::BigInt;
    }
    let neg = b[b.len() - 1] & 0x80 != 0;
    let mut buf = if neg { [0xffu8; 8] } else { [0u8; 8] };
    buf[..b.len()].copy_from_slice(b);
    Val::Int(i64::from_le_bytes(buf))
}

fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}

/// Protocol-0 `STRING`: a Python 2 repr, `'...'` or `"..."` with backslash escapes.
fn unquote_py2(l: &[u8]) -> Option<String> {
    let l = l.strip_suffix(b"\r").unwrap_or(l);
    if l.len() < 2 || !(l[0] == b'\'' || l[0] == b'"') || l[l.len() - 1] != l[0] {
        return None;
    }
    let inner = &l[1..l.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let e = *inner.get(i)?;
        i += 1;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'0'..=b'7' => {
                let mut v = (e - b'0') as u32;
                for _ in 0..2 {
                    match inner.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + (d - b'0') as u32;
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(v as u8);
            }
            b'x' => {
                let h = inner.get(i..i + 2)?;
                out.push(u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?);
                i += 2;
            }
            b'\n' => {}
            other => {
                if !matches!(other, b'\\' | b'\'' | b'"' | b'a' | b'b' | b'f' | b'v') {
                    out.push(b'\\');
                }
                out.push(match other {
                    b'a' => 7,
                    b'b' => 8,
                    b'f' => 12,
                    b'v' => 11,
                    o => o,
                });
            }
        }
    }
    Some(latin1(&out))
}

/// Protocol-0 `UNICODE`: raw-unicode-escape (`\uXXXX`, `\UXXXXXXXX`; other bytes latin-1).
fn raw_unicode_escape(l: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(l.len());
    let mut i = 0;
    while i < l.len() {
        if l[i] == b'\\' && i + 1 < l.len() && (l[i + 1] == b'u' || l[i + 1] == b'U') {
            let n = if l[i + 1] == b'u' { 4 } else { 8 };
            let h = l.get(i + 2..i + 2 + n)?;
            let v = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
            out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            i += 2 + n;
        } else {
            out.push(l[i] as char);
            i += 1;
        }
    }
    Some(out)
}

fn dtype_has_object(d: &str) -> bool {
    d.trim_start_matches(['<', '>', '|', '=']).starts_with('O')
}

/// Bytes per element of a numpy dtype string, when it is a plain one.
pub fn dtype_itemsize(d: &str) -> Option<u64> {
    let d = d.trim_start_matches(['<', '>', '|', '=']);
    let (kind, rest) = d.split_at(d.char_indices().nth(1).map(|x| x.0).unwrap_or(d.len()));
    let rest = rest.split('[').next().unwrap_or("");
    let n: u64 = if rest.is_empty() {
        match kind {
            "b" | "?" | "B" => 1,
            "h" | "H" | "e" => 2,
            "i" | "I" | "l" | "f" => 4,
            "q" | "Q" | "d" | "L" | "g" => 8,
            "F" => 8,
            "D" => 16,
            "M" | "m" => 8,
            _ => return None,
        }
    } else {
        rest.parse().ok()?
    };
    match kind {
        "U" => n.checked_mul(4),
        "b" | "i" | "u" | "f" | "c" | "S" | "a" | "V" | "M" | "m" | "?" | "B" | "h" | "H" | "e"
        | "I" | "l" | "q" | "Q" | "d" | "L" | "g" | "F" | "D" => Some(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;

    /// A tiny pickle writer for tests.
    #[derive(Default)]
    struct W(Vec<u8>);
    impl W {
        fn op(mut self, b: &[u8]) -> W {
            self.0.extend_from_slice(b);
            self
        }
        fn s(mut self, s: &str) -> W {
            self.0.push(0x8c);
            self.0.push(s.len() as u8);
            self.0.extend_from_slice(s.as_bytes());
            self
        }
        fn bytes(mut self, b: &[u8]) -> W {
            self.0.push(b'B');
            self.0.extend_from_slice(&(b.len() as u32).to_le_bytes());
            self.0.extend_from_slice(b);
            self
        }
        fn sg(self, m: &str, n: &str) -> W {
            self.s(m).s(n).op(&[0x93])
        }
    }

    fn run(b: &[u8]) -> Outcome {
        Interp::new(b, &Policy::builtin()).run(u32::MAX)
    }

    fn worst(o: &Outcome) -> Option<Severity> {
        o.hits.iter().map(|h| h.severity).max()
    }

    #[test]
    fn protocol0_reduce_of_os_system_is_critical() {
        let o = run(b"cos\nsystem\n(S'id'\ntR.");
        assert_eq!(worst(&o), Some(Severity::Critical));
        assert_eq!(o.hits[0].global.as_deref(), Some("os.system"));
        assert_eq!(o.hits[0].offset, 0);
        assert!(o.malformed.is_none());
    }

    #[test]
    fn stack_global_operands_from_the_memo_are_resolved() {
        // "posix" and "system" are memoised, popped, and fetched back before STACK_GLOBAL.
        let p = W::default()
            .op(b"\x80\x04")
            .s("posix")
            .op(b"\x94")
            .op(b"0")
            .s("system")
            .op(b"\x94")
            .op(b"0")
            .op(b"h\x00h\x01\x93")
            .s("id")
            .op(b"\x85R.");
        let o = run(&p.0);
        assert!(o.malformed.is_none(), "{:?}", o.malformed);
        assert_eq!(o.hits[0].global.as_deref(), Some("posix.system"));
        assert_eq!(o.hits[0].severity, Severity::Critical);
        assert_eq!(o.hits[0].op, "STACK_GLOBAL");
    }

    #[test]
    fn computed_stack_global_and_global_mutation_are_critical() {
        // STACK_GLOBAL whose module name is the result of a call
        let p = W::default()
            .op(b"\x80\x04")
            .sg("builtins", "str")
            .s("os")
            .op(b"\x85R")
            .s("system")
            .op(b"\x93.");
        let o = run(&p.0);
        assert!(o
            .hits
            .iter()
            .any(|h| h.id == "inspect.pickle.dynamic_global"));
        // BUILD on an imported module overwrites its attributes
        let p = W::default()
            .op(b"\x80\x04")
            .sg("torch", "_utils")
            .op(b"}")
            .s("_rebuild_tensor")
            .s("eval")
            .op(b"sb.");
        let o = run(&p.0);
        let h = o
            .hits
            .iter()
            .find(|h| h.id == "inspect.pickle.global_mutation")
            .unwrap();
        assert_eq!(h.severity, Severity::Critical);
    }

    #[test]
    fn nested_pickles_are_followed() {
        let inner = W::default()
            .op(b"\x80\x04")
            .sg("os", "system")
            .s("id")
            .op(b"\x85R.")
            .0;
        // pickle.loads(b"...") with the payload as a bytes constant
        let p = W::default()
            .op(b"\x80\x04")
            .sg("pickle", "loads")
            .bytes(&inner)
            .op(b"\x85R.");
        let o = run(&p.0);
        let nested = o
            .hits
            .iter()
            .find(|h| h.global.as_deref() == Some("os.system"))
            .unwrap();
        assert_eq!(nested.nested_at, Some(23));
        // and spelled protocol-2 style: _codecs.encode(str, "latin1")
        let latin: String = inner.iter().map(|&b| b as char).collect();
        let mut p = W::default()
            .op(b"\x80\x02")
            .op(b"c_pickle\nloads\n")
            .op(b"c_codecs\nencode\n");
        p.0.push(b'X');
        p.0.extend_from_slice(&(latin.len() as u32).to_le_bytes());
        p.0.extend_from_slice(latin.as_bytes());
        let p = p.s("latin1").op(b"\x86R\x85R.");
        let o = run(&p.0);
        assert!(o
            .hits
            .iter()
            .any(|h| h.global.as_deref() == Some("os.system") && h.nested_at.is_some()));
        // Array data spelled the same way that merely starts with 0x80 or ends with '.' is
        // not a finding when nothing loads it (benign protocol-2 numpy pickles).
        for data in ["\u{80}\u{7d}\u{d7}\u{12}\u{ff}", "\u{d7}\u{01}\u{02}."] {
            let mut p = W::default().op(b"\x80\x02").op(b"c_codecs\nencode\n");
            p.0.push(b'X');
            p.0.extend_from_slice(&(data.len() as u32).to_le_bytes());
            p.0.extend_from_slice(data.as_bytes());
            let p = p.s("latin1").op(b"\x86R.");
            let o = run(&p.0);
            assert!(o.hits.is_empty(), "{data:?}: {:?}", o.hits);
        }
    }

    #[test]
    fn a_payload_before_corruption_is_still_reported() {
        let o = run(b"\x80\x02cbuiltins\nexec\nX\x05\x00\x00\x00printq\x00\x85R\xff\xff");
        assert_eq!(worst(&o), Some(Severity::Critical));
        let m = o.malformed.unwrap();
        assert!(m.message.contains("invalid opcode"), "{}", m.message);
        assert_eq!(m.offset, 31);
    }

    #[test]
    fn second_pickle_in_the_same_file_is_interpreted() {
        let mut b = W::default().op(b"\x80\x04]").op(b".").0;
        b.extend(
            W::default()
                .op(b"\x80\x04")
                .sg("requests.api", "get")
                .s("x")
                .op(b"\x85R.")
                .0,
        );
        let o = run(&b);
        assert_eq!(o.pickles, 2);
        assert_eq!(worst(&o), Some(Severity::Critical));
    }

    #[test]
    fn ordinary_state_dict_has_no_hits() {
        // OrderedDict with one tensor rebuilt from a persistent storage id
        let p = W::default()
            .op(b"\x80\x02")
            .op(b"ccollections\nOrderedDict\n)R")
            .s("w")
            .op(b"ctorch._utils\n_rebuild_tensor_v2\n(")
            .op(b"(")
            .s("storage")
            .op(b"ctorch\nFloatStorage\n")
            .s("0")
            .s("cpu")
            .op(b"K\x04tQ")
            .op(b"K\x00K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR")
            .op(b"s.");
        let o = run(&p.0);
        assert!(o.malformed.is_none(), "{:?}", o.malformed);
        assert!(o.hits.is_empty(), "{:?}", o.hits);
        assert!(o
            .globals
            .contains(&"torch._utils._rebuild_tensor_v2".to_string()));
    }

    #[test]
    fn joblib_array_bytes_are_skipped_exactly() {
        // NumpyArrayWrapper BUILD, then 1 padding-length byte + 3 pad bytes, then 2 float64
        // values, then the pickle continues and imports something dangerous.
        let mut p = W::default()
            .op(b"\x80\x04")
            .sg("joblib.numpy_pickle", "NumpyArrayWrapper")
            .op(b")\x81}(")
            .s("shape")
            .op(b"K\x02\x85")
            .s("order")
            .s("C")
            .s("dtype")
            .sg("numpy", "dtype")
            .s("f8")
            .op(b"\x89\x88\x87R")
            .s("numpy_array_alignment_bytes")
            .op(b"K\x10")
            .op(b"ub")
            .0;
        p.extend_from_slice(&[3, 0xff, 0xff, 0xff]);
        p.extend_from_slice(&[0x80; 16]);
        p.extend(W::default().op(b"0").sg("os", "system").op(b".").0);
        let o = run(&p);
        assert!(o.malformed.is_none(), "{:?}", o.malformed);
        assert!(o
            .hits
            .iter()
            .any(|h| h.global.as_deref() == Some("os.system")));
    }

    #[test]
    fn hostile_structures_stay_bounded() {
        // a list appended to itself, a million marks, deep tuples, huge lengths
        let o = run(b"\x80\x04]\x94h\x00ah\x00ah\x00a.");
        assert!(o.malformed.is_none());
        let marks = vec![b'('; 200_000];
        let o = run(&marks);
        assert!(o.malformed.unwrap().message.contains("mark limit"));
        let mut deep = b"\x80\x04)".to_vec();
        deep.extend(std::iter::repeat_n(0x85u8, 500_000));
        deep.push(b'.');
        assert!(run(&deep).malformed.is_none());
        let o = run(b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f");
        assert!(o.malformed.unwrap().message.contains("truncated"));
        let o = run(b"\x80\x04h\x05.");
        assert!(o.malformed.unwrap().message.contains("memo"));
    }

    /// Seeded mutations of valid pickles: never a panic, always a bounded answer.
    #[test]
    fn seeded_mutations_never_panic() {
        let seeds: Vec<Vec<u8>> = vec![
            b"cos\nsystem\n(S'id'\ntR.".to_vec(),
            W::default()
                .op(b"\x80\x04")
                .sg("posix", "system")
                .s("id")
                .op(b"\x85R.")
                .0,
            b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x01\x00\x00\x00aK\x01s.".to_vec(),
            b"(lp0\nI1\naI2\na(dp1\nVk\np2\nF1.5\nsa.".to_vec(),
        ];
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let p = Policy::builtin();
        for i in 0..20_000 {
            let mut b = seeds[i % seeds.len()].clone();
            for _ in 0..(1 + next() % 4) {
                let r = next();
                let pos = (r >> 8) as usize % (b.len() + 1);
                match r % 4 {
                    0 if pos < b.len() => b[pos] = (r >> 32) as u8,
                    1 => b.insert(pos, (r >> 32) as u8),
                    2 if pos < b.len() => {
                        b.remove(pos);
                    }
                    _ => {
                        let cut = pos.min(b.len());
                        let dup = b[cut..].to_vec();
                        b.extend(dup);
                    }
                }
            }
            let o = Interp::new(&b, &p).run(u32::MAX);
            assert!(o.end as usize <= b.len());
        }
    }
}

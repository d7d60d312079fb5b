//! Tabular readers: Parquet, CSV/TSV, NDJSON, Arrow IPC (file and stream), with `.gz` and
//! `.zst` CSV/JSONL, producing arrow `RecordBatch`es in bounded memory.
//!
//! The unit of parallel work is a [`Unit`]: a whole CSV/JSONL/IPC file, or one Parquet row
//! group. Each unit is read as a stream of batches, so memory depends on the batch size and
//! not on the number of rows.
//!
//! CSV and JSON Lines are split into records by this module (CSV: a record ends at a newline
//! outside quotes, so quoted newlines are kept) and handed to arrow in chunks; when a chunk
//! fails, its records are parsed one by one to name the exact line, and with
//! `skip_bad_rows` the bad ones are counted and skipped instead of failing.
//!
//! Hostile input: every decode of one unit (a Parquet footer or row-group batch, an IPC
//! footer or batch, a CSV/JSON block) runs under [`contain`], so a panic inside arrow or
//! parquet is an input error naming the file and the unit; Arrow IPC lengths are checked
//! against the file size first (an allocation failure cannot be contained). Before arrow
//! allocates, the `[input]` caps bound the columns (`max_columns`: the CSV header is
//! counted, Parquet/IPC/JSON schemas checked) and the record length (`max_record_bytes`:
//! lines and records are read with a bounded length).
//!
//! What the input must look like (docs/input.md): a CSV has a header and at least one data
//! row, and no two columns of any format share a name; a JSON Lines schema is inferred
//! from every row, so a key first seen late is still a column.

use super::contain;
use super::source::{self, ByteSource};
use crate::error::{Error, IoContext, Result};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    Parquet,
    Csv,
    Tsv,
    Jsonl,
    Ipc,
}

impl TableFormat {
    pub fn name(self) -> &'static str {
        match self {
            TableFormat::Parquet => "parquet",
            TableFormat::Csv => "csv",
            TableFormat::Tsv => "tsv",
            TableFormat::Jsonl => "jsonl",
            TableFormat::Ipc => "ipc",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Force a format instead of detecting it.
    pub format: Option<TableFormat>,
    /// CSV delimiter [default: `,`, tab for `.tsv`].
    pub delimiter: Option<u8>,
    pub batch_rows: usize,
    /// Rows used to infer CSV schemas (JSON Lines schemas come from every row).
    pub infer_rows: usize,
    pub skip_bad_rows: bool,
    /// Lenient types for logs written by many producers: CSV/JSON integer columns are read
    /// as Float64 (a column inferred as integer from the first rows then still reads a later
    /// fractional value), and JSON primitives are coerced to the inferred type (a status
    /// logged as `200` in one line and `"blocked"` in another).
    pub lenient_types: bool,
    /// A CSV with a header and no data row reads as zero rows instead of an error (the
    /// inference scan lists such a file as not read; a profile refuses it).
    pub header_only_ok: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            delimiter: None,
            batch_rows: 8192,
            infer_rows: 10_000,
            skip_bad_rows: false,
            lenient_types: false,
            header_only_ok: false,
        }
    }
}

/// One piece of parallel work.
#[derive(Debug, Clone)]
pub struct Unit {
    pub file: PathBuf,
    pub format: TableFormat,
    /// Parquet row group index.
    pub row_group: Option<usize>,
    /// Index of the file in the input list (for deterministic merge order and seeds).
    pub file_index: usize,
    /// The input opened once and shared by all its units (every read goes through it, so a
    /// wrapper sees them all: `integrity::observed` digests them); `None`: open by path.
    pub src: Option<Arc<dyn ByteSource>>,
    /// Parquet metadata read once per file, not once per row group.
    pub parquet: Option<ArrowReaderMetadata>,
}

/// An input shared by the units that read it.
pub type Source = Arc<dyn ByteSource>;

/// Row groups whose column chunks are at most this large are fetched whole from object
/// storage before decoding (concurrent ranged GETs); larger ones are read page by page.
const PREFETCH_MAX: u64 = 256 << 20;

/// Rows that could not be read with `skip_bad_rows`.
#[derive(Debug, Clone, Default)]
pub struct Skipped {
    pub rows: u64,
    /// First few `(file, line, reason)`.
    pub examples: Vec<(String, u64, String)>,
}

fn sniff(path: &Path) -> Result<[u8; 8]> {
    let head = source::read_head(path, 8)?;
    let mut buf = [0u8; 8];
    buf[..head.len()].copy_from_slice(&head);
    Ok(buf)
}

/// Format from magic bytes, then the extension (ignoring `.gz`/`.zst`).
pub fn detect_format(path: &Path) -> Result<TableFormat> {
    let magic = sniff(path)?;
    if magic.starts_with(b"PAR1") {
        return Ok(TableFormat::Parquet);
    }
    if magic.starts_with(b"ARROW1") || magic.starts_with(&[0xff, 0xff, 0xff, 0xff]) {
        return Ok(TableFormat::Ipc);
    }
    let base = crate::input::source::base_name(path);
    let ext = base.rsplit('.').next().unwrap_or("");
    match ext {
        "parquet" | "pq" => Ok(TableFormat::Parquet),
        "csv" => Ok(TableFormat::Csv),
        "tsv" | "tab" => Ok(TableFormat::Tsv),
        "jsonl" | "ndjson" | "json" => Ok(TableFormat::Jsonl),
        "arrow" | "feather" | "ipc" | "arrows" => Ok(TableFormat::Ipc),
        _ => Err(Error::input(
            path,
            "unknown table format (use .parquet, .csv, .tsv, .jsonl, .arrow/.feather, optionally .gz/.zst; or --format)",
        )),
    }
}

fn is_table_file(p: &Path) -> bool {
    detect_format(p).is_ok()
}

/// Table files found by [`expand`], and what was left out or read through a link.
#[derive(Debug, Default)]
pub struct Inputs {
    pub files: Vec<(PathBuf, TableFormat)>,
    /// Files inside listed directories reached through a symlink (read).
    pub via_symlink: Vec<PathBuf>,
    /// `(path, reason)`: directory entries not read.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Expand files, directories (recursively, sorted) and globs into table files through the
/// source layer ([`source::expand`]). Mixed formats are an error.
pub fn expand(inputs: &[PathBuf], forced: Option<TableFormat>) -> Result<Inputs> {
    let found = source::expand(
        inputs,
        &|p| forced.is_some() || is_table_file(p),
        "input table files",
    )?;
    let mut out = Vec::new();
    for f in found.files {
        let fmt = match forced {
            Some(x) => x,
            None => detect_format(&f)?,
        };
        out.push((f, fmt));
    }
    let first = out[0].1;
    let same = |a: TableFormat, b: TableFormat| {
        a == b
            || matches!(
                (a, b),
                (TableFormat::Csv, TableFormat::Tsv) | (TableFormat::Tsv, TableFormat::Csv)
            )
    };
    if let Some((f, fmt)) = out.iter().find(|(_, fmt)| !same(*fmt, first)) {
        return Err(Error::input(
            f,
            format!(
                "mixed input formats: {} is {} but {} is {} (profile one format at a time)",
                f.display(),
                fmt.name(),
                out[0].0.display(),
                first.name()
            ),
        ));
    }
    Ok(Inputs {
        files: out,
        via_symlink: found.via_symlink,
        skipped: found.skipped,
    })
}

/// Split the inputs into units of work (Parquet: one per row group).
pub fn units(files: &[(PathBuf, TableFormat)]) -> Result<Vec<Unit>> {
    units_of(files, &vec![None; files.len()])
}

/// [`units`], each file read through the given source when there is one (`srcs[i]` for
/// `files[i]`).
pub fn units_of(files: &[(PathBuf, TableFormat)], srcs: &[Option<Source>]) -> Result<Vec<Unit>> {
    let mut out = Vec::new();
    for (i, (f, fmt)) in files.iter().enumerate() {
        let src = srcs.get(i).cloned().flatten();
        if *fmt == TableFormat::Parquet {
            let file = match &src {
                Some(s) => source::RangeReader(s.clone()),
                None => source::open_range(f)?,
            };
            let meta = parquet_metadata(f, &file)?;
            let n = meta.metadata().num_row_groups();
            let src = Some(file.0);
            for rg in 0..n.max(1) {
                out.push(Unit {
                    file: f.clone(),
                    format: *fmt,
                    row_group: (n > 0).then_some(rg),
                    file_index: i,
                    src: src.clone(),
                    parquet: Some(meta.clone()),
                });
            }
        } else {
            out.push(Unit {
                file: f.clone(),
                format: *fmt,
                row_group: None,
                file_index: i,
                src,
                parquet: None,
            });
        }
    }
    Ok(out)
}

/// A Parquet row group's column chunks held in memory (fetched with concurrent ranged
/// GETs), serving Parquet's reads; anything outside them falls through to the source.
#[derive(Clone)]
struct Prefetched {
    src: Source,
    parts: Arc<Vec<(u64, bytes::Bytes)>>,
}

impl Prefetched {
    fn find(&self, start: u64, len: u64) -> Option<bytes::Bytes> {
        let i = self
            .parts
            .partition_point(|(s, _)| *s <= start)
            .checked_sub(1)?;
        let (s, b) = &self.parts[i];
        let end = s + b.len() as u64;
        (start + len <= end).then(|| b.slice((start - s) as usize..(start - s + len) as usize))
    }
}

impl parquet::file::reader::Length for Prefetched {
    fn len(&self) -> u64 {
        self.src.len()
    }
}

impl parquet::file::reader::ChunkReader for Prefetched {
    type T = Box<dyn Read + Send>;
    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let i = self.parts.partition_point(|(s, _)| *s <= start);
        if let Some((s, b)) = i.checked_sub(1).map(|i| &self.parts[i]) {
            if start < s + b.len() as u64 {
                let rest = b.slice((start - s) as usize..);
                return Ok(Box::new(std::io::Cursor::new(rest)));
            }
        }
        Ok(Box::new(
            source::RangeReader(self.src.clone()).get_read(start)?,
        ))
    }
    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        match self.find(start, length as u64) {
            Some(b) => Ok(b),
            None => self
                .src
                .get_range(start..start.saturating_add(length as u64))
                .map_err(|e| parquet::errors::ParquetError::External(Box::new(e))),
        }
    }
}

/// The byte ranges of a row group's column chunks, adjacent ones merged.
fn chunk_ranges(meta: &ArrowReaderMetadata, rg: usize) -> Vec<std::ops::Range<u64>> {
    let mut v: Vec<std::ops::Range<u64>> = meta
        .metadata()
        .row_group(rg)
        .columns()
        .iter()
        .filter_map(|c| {
            // Not `byte_range()`: it panics on the negative offsets of a corrupt footer.
            // Such a chunk is not prefetched; the reader then reports it (contained).
            let s = c.dictionary_page_offset().unwrap_or(c.data_page_offset());
            let l = c.compressed_size();
            (s >= 0 && l >= 0).then(|| s as u64..(s as u64).saturating_add(l as u64))
        })
        .collect();
    v.sort_by_key(|r| r.start);
    let mut out: Vec<std::ops::Range<u64>> = Vec::new();
    for r in v {
        match out.last_mut() {
            Some(l) if r.start <= l.end => l.end = l.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The source of a unit: the shared one, or the file opened now.
fn unit_source(unit: &Unit) -> Result<Source> {
    match &unit.src {
        Some(s) => Ok(s.clone()),
        None => source::open_source(&unit.file),
    }
}

fn open_text(unit: &Unit) -> Result<Box<dyn BufRead + Send>> {
    match &unit.src {
        Some(s) => source::stream_of(s.clone()),
        None => source::open_stream(&unit.file),
    }
}

/// Decode a Parquet footer (contained), checking the column cap.
fn parquet_metadata(path: &Path, file: &source::RangeReader) -> Result<ArrowReaderMetadata> {
    let meta = contain::decode(path, "Parquet", &"footer", || {
        ArrowReaderMetadata::load(file, ArrowReaderOptions::default())
    })?
    .map_err(|e| Error::input(path, format!("not a readable Parquet file: {e}")))?;
    check_columns(path, meta.schema().fields().len())?;
    Ok(meta)
}

/// The `[input] max_columns` cap.
fn check_columns(path: &Path, n: usize) -> Result<()> {
    let max = source::limits().max_columns;
    if n as u64 > max {
        return Err(Error::input(
            path,
            format!("{n} columns, more than the {max} allowed ([input] max_columns)"),
        ));
    }
    Ok(())
}

/// The error for a record past `[input] max_record_bytes`.
fn record_too_long(path: &Path, line: u64, max: u64) -> Error {
    Error::input_at_line(
        path,
        line,
        format!("record longer than {max} bytes ([input] max_record_bytes); refused before reading it whole"),
    )
}

/// Most bytes of records handed to arrow at once (a block ends early past this, so a
/// block is bounded by bytes as well as by `batch_rows`).
const MAX_CHUNK_BYTES: usize = 16 << 20;

/// Fields in the first record of a CSV sample (the header), counted with RFC 4180 quoting,
/// before arrow sees it: the `[input] max_columns` cap for CSV.
fn header_fields(sample: &[u8], delim: u8) -> usize {
    let mut n = 1;
    let mut quoted = false;
    for &b in sample {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b if b == delim && !quoted => n += 1,
            _ => {}
        }
    }
    n
}

/// Read one unit, calling `f` for each batch. Returns what was skipped.
pub fn read_unit(
    unit: &Unit,
    opts: &ReadOptions,
    f: &mut dyn FnMut(&RecordBatch) -> Result<()>,
) -> Result<Skipped> {
    let path = &unit.file;
    // Parquet and Arrow IPC schemas may repeat a name too: checked on the first batch.
    let mut checked = false;
    let f = &mut |b: &RecordBatch| -> Result<()> {
        if !checked {
            check_unique_columns(path, &b.schema())?;
            checked = true;
        }
        f(b)
    };
    match unit.format {
        TableFormat::Parquet => {
            let src = unit_source(unit)?;
            let meta = match &unit.parquet {
                Some(m) => m.clone(),
                None => parquet_metadata(path, &source::RangeReader(src.clone()))?,
            };
            let g = unit.row_group.unwrap_or(0);
            let place = format!("row group {g}");
            // From object storage, the row group's column chunks are fetched up front with
            // concurrent ranged GETs (as parquet's async reader does); page by page, every
            // page header would be a request.
            let ranges = match unit.row_group {
                Some(g) if src.object().is_some() => chunk_ranges(&meta, g),
                _ => Vec::new(),
            };
            let total = ranges
                .iter()
                .fold(0u64, |t, r| t.saturating_add(r.end - r.start));
            let prefetch = src.object().is_some() && total > 0 && total <= PREFETCH_MAX;
            use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder as B;
            let reader = if prefetch {
                let got = src.get_ranges(&ranges).map_err(|e| Error::io(path, e))?;
                let parts = ranges.iter().map(|r| r.start).zip(got).collect();
                let file = Prefetched {
                    src,
                    parts: Arc::new(parts),
                };
                let mut b = B::new_with_metadata(file, meta).with_batch_size(opts.batch_rows);
                if let Some(rg) = unit.row_group {
                    b = b.with_row_groups(vec![rg]);
                }
                contain::decode(path, "Parquet", &place, || b.build())?
            } else {
                let file = source::RangeReader(src);
                let mut b = B::new_with_metadata(file, meta).with_batch_size(opts.batch_rows);
                if let Some(rg) = unit.row_group {
                    b = b.with_row_groups(vec![rg]);
                }
                contain::decode(path, "Parquet", &place, || b.build())?
            };
            let mut reader = reader.map_err(|e| Error::input(path, format!("Parquet: {e}")))?;
            // Only the decoding is contained, not `f` (a panic there is a bug of ours).
            while let Some(batch) = contain::decode(path, "Parquet", &place, || reader.next())? {
                let batch =
                    batch.map_err(|e| Error::input(path, format!("Parquet row group {g}: {e}")))?;
                f(&batch)?;
            }
            Ok(Skipped::default())
        }
        TableFormat::Ipc => {
            let src = unit_source(unit)?;
            let len = src.len();
            let magic = src
                .get_range(0..len.min(8))
                .map_err(|e| Error::io(path, e))?;
            // One reader for the length checks and the decoding: the checks' reads (the
            // footer, each message header) fill the blocks the decoder then reads from, so
            // a file of up to one block (8 MiB from a store) is fetched once.
            let mut file = source::SeekReader::new(src);
            if magic.starts_with(b"ARROW1") {
                contain::check_ipc_file(path, &mut file, len)?;
                let mut r = contain::decode(path, "Arrow IPC", &"footer", || {
                    arrow_ipc::reader::FileReader::try_new(file, None)
                })?
                .map_err(|e| Error::input(path, format!("Arrow IPC file: {e}")))?;
                check_columns(path, r.schema().fields().len())?;
                read_ipc_batches(path, &mut r, f)?;
            } else {
                contain::check_ipc_stream(path, &mut file, len)?;
                let stream = BufReader::with_capacity(1 << 20, file);
                let mut r = contain::decode(path, "Arrow IPC", &"schema", || {
                    arrow_ipc::reader::StreamReader::try_new(stream, None)
                })?
                .map_err(|e| Error::input(path, format!("Arrow IPC stream: {e}")))?;
                check_columns(path, r.schema().fields().len())?;
                read_ipc_batches(path, &mut r, f)?;
            }
            Ok(Skipped::default())
        }
        TableFormat::Csv | TableFormat::Tsv => read_csv(unit, opts, f),
        TableFormat::Jsonl => read_jsonl(unit, opts, f),
    }
}

/// Every batch of an IPC reader, each decode contained.
fn read_ipc_batches(
    path: &Path,
    r: &mut dyn Iterator<Item = std::result::Result<RecordBatch, arrow_schema::ArrowError>>,
    f: &mut dyn FnMut(&RecordBatch) -> Result<()>,
) -> Result<()> {
    for i in 0u64.. {
        let place = format!("batch {i}");
        let Some(batch) = contain::decode(path, "Arrow IPC", &place, || r.next())? else {
            return Ok(());
        };
        let batch = batch.map_err(|e| Error::input(path, format!("Arrow IPC batch {i}: {e}")))?;
        f(&batch)?;
    }
    Ok(())
}

/// Records of a text file: `(first line number, text)`. CSV records end at a line break
/// (LF, CRLF, or a lone CR as old Mac exports write) with an even number of quotes so far
/// (RFC 4180 quoting), JSON Lines at every LF. A lone-CR break is handed on as LF, so the
/// chunk parsers see one convention.
struct Records {
    r: Tee,
    line: u64,
    csv: bool,
    path: PathBuf,
    /// `[input] max_record_bytes`.
    max_record: u64,
    /// The last line ended with a CR: a LF right after it belongs to the same line break.
    pending_cr: bool,
}

impl Records {
    fn open(unit: &Unit, csv: bool) -> Result<Records> {
        Ok(Records::over(open_text(unit)?, unit, csv, None))
    }

    fn over(r: Box<dyn BufRead + Send>, unit: &Unit, csv: bool, log: Option<Vec<u8>>) -> Records {
        Records {
            r: Tee { inner: r, log },
            line: 0,
            csv,
            path: unit.file.clone(),
            max_record: source::limits().max_record_bytes,
            pending_cr: false,
        }
    }

    /// The stream as if unread: the bytes logged so far, then the rest.
    fn rewind(self) -> Box<dyn BufRead + Send> {
        let Tee { inner, log } = self.r;
        Box::new(std::io::Cursor::new(log.unwrap_or_default()).chain(inner))
    }
}

/// A buffered reader that can log what is consumed from it: the CSV schema sample is read
/// from the same stream that is then profiled (the logged bytes replayed first), so a text
/// file is read once — from a store, downloaded once.
struct Tee {
    inner: Box<dyn BufRead + Send>,
    log: Option<Vec<u8>>,
}

impl Read for Tee {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let b = self.fill_buf()?;
        let n = b.len().min(out.len());
        out[..n].copy_from_slice(&b[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Tee {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        if let Some(log) = &mut self.log {
            // The bytes are in the buffer already: this fill_buf does no I/O.
            if let Ok(b) = self.inner.fill_buf() {
                log.extend_from_slice(&b[..n.min(b.len())]);
            }
        }
        self.inner.consume(n);
    }
}

impl Records {
    /// Append up to `max` records (and about [`MAX_CHUNK_BYTES`]) to `out` (cleared first),
    /// their (first line, offset) to `starts`. Blank records are dropped. Reads straight
    /// from the reader's buffer: no allocation per line. A record longer than
    /// `max_record` is an error as soon as it passes the cap. Returns true at the end of
    /// the file.
    fn fill_chunk(
        &mut self,
        max: usize,
        out: &mut Vec<u8>,
        starts: &mut Vec<(u64, usize)>,
    ) -> Result<bool> {
        out.clear();
        starts.clear();
        let mut rec_start = 0usize;
        let mut rec_line = self.line + 1;
        let mut quotes = 0usize;
        loop {
            let buf = self.r.fill_buf().with_path(&self.path)?;
            if buf.is_empty() {
                if out.len() > rec_start {
                    if self.csv && quotes % 2 == 1 {
                        return Err(Error::input_at_line(
                            &self.path,
                            rec_line,
                            "unterminated quoted field at end of file (truncated?)",
                        ));
                    }
                    if out[rec_start..].iter().all(u8::is_ascii_whitespace) {
                        out.truncate(rec_start);
                    } else {
                        out.push(b'\n');
                        starts.push((rec_line, rec_start));
                    }
                }
                return Ok(true);
            }
            if std::mem::take(&mut self.pending_cr) && buf[0] == b'\n' {
                // The LF of a CRLF whose CR already ended the line: inside a quoted field
                // it is content and kept; after a record's end it is dropped.
                if out.len() > rec_start {
                    out.push(b'\n');
                }
                self.r.consume(1);
                continue;
            }
            let csv = self.csv;
            match buf.iter().position(|&b| b == b'\n' || (csv && b == b'\r')) {
                Some(i) => {
                    let cr = buf[i] == b'\r';
                    let part = &buf[..=i];
                    if self.csv {
                        quotes += part.iter().filter(|&&b| b == b'"').count();
                    }
                    if (out.len() - rec_start + part.len()) as u64 > self.max_record + 1 {
                        return Err(record_too_long(&self.path, rec_line, self.max_record));
                    }
                    let ends = !self.csv || quotes % 2 == 0;
                    if cr && ends {
                        out.extend_from_slice(&part[..i]);
                        out.push(b'\n');
                    } else {
                        out.extend_from_slice(part);
                    }
                    self.r.consume(i + 1);
                    self.line += 1;
                    self.pending_cr = cr;
                    if ends {
                        if out[rec_start..].iter().all(u8::is_ascii_whitespace) {
                            out.truncate(rec_start);
                        } else {
                            starts.push((rec_line, rec_start));
                        }
                        rec_start = out.len();
                        rec_line = self.line + 1;
                        quotes = 0;
                        if starts.len() >= max || out.len() >= MAX_CHUNK_BYTES {
                            return Ok(false);
                        }
                    }
                }
                None => {
                    let n = buf.len();
                    if self.csv {
                        quotes += buf.iter().filter(|&&b| b == b'"').count();
                    }
                    if (out.len() - rec_start + n) as u64 > self.max_record + 1 {
                        return Err(record_too_long(&self.path, rec_line, self.max_record));
                    }
                    out.extend_from_slice(buf);
                    self.r.consume(n);
                }
            }
        }
    }

    /// Skip the first record (a CSV header).
    fn skip_header(&mut self) -> Result<()> {
        let mut out = Vec::new();
        let mut starts = Vec::new();
        self.fill_chunk(1, &mut out, &mut starts).map(|_| ())
    }
}

/// Integers (and lists of integers) become Float64 with `lenient_types`.
fn widen(schema: arrow_schema::Schema, opts: &ReadOptions) -> arrow_schema::Schema {
    use arrow_schema::{DataType, Field};
    if !opts.lenient_types {
        return schema;
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Int64 => f.as_ref().clone().with_data_type(DataType::Float64),
            DataType::List(inner) if inner.data_type() == &DataType::Int64 => {
                f.as_ref().clone().with_data_type(DataType::List(Arc::new(
                    inner.as_ref().clone().with_data_type(DataType::Float64),
                )))
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    arrow_schema::Schema::new(fields)
}

/// Two columns with one name would be merged into one by every consumer (the profile keys
/// columns by name, `--label` and drift look them up by name): an error naming both.
fn check_unique_columns(path: &Path, schema: &arrow_schema::Schema) -> Result<()> {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, f) in schema.fields().iter().enumerate() {
        if let Some(first) = seen.insert(f.name().as_str(), i) {
            return Err(Error::input(
                path,
                format!(
                    "columns {} and {} (counting from 1) are both named '{}': rename one (mlguard neither merges nor renames columns)",
                    first + 1,
                    i + 1,
                    f.name()
                ),
            ));
        }
    }
    Ok(())
}

/// The CSV schema from the header and the first `infer_rows` records (at most about
/// [`MAX_CHUNK_BYTES`] of them), split by [`Records`] (so quoted newlines and CR line
/// breaks are understood, record lengths are capped, and every record's line is known).
/// A file with no header, or a header and no data row, is an error: profiling it would
/// silently yield nothing.
fn infer_csv(
    unit: &Unit,
    opts: &ReadOptions,
    delim: u8,
) -> Result<(SchemaRef, Box<dyn BufRead + Send>)> {
    let mut recs = Records::over(open_text(unit)?, unit, true, Some(Vec::new()));
    let mut sample = Vec::new();
    let mut starts = Vec::new();
    let eof = recs.fill_chunk(opts.infer_rows.saturating_add(1), &mut sample, &mut starts)?;
    match starts.len() {
        0 if recs.line == 0 => return Err(Error::input(&unit.file, "empty file (no header row)")),
        0 => {
            return Err(Error::input(
                &unit.file,
                format!("no header row ({} line(s), all blank)", recs.line),
            ))
        }
        1 if eof && !opts.header_only_ok => {
            return Err(Error::input_at_line(
                &unit.file,
                starts[0].0,
                "a header row and no data rows",
            ))
        }
        _ => {}
    }
    // Count the header's fields before arrow allocates anything per column.
    check_columns(&unit.file, header_fields(&sample, delim))?;
    let fmt = arrow_csv::reader::Format::default()
        .with_header(true)
        .with_delimiter(delim);
    // The header plus the first `n` data records.
    let infer = |n: usize| {
        let end = starts.get(n + 1).map(|s| s.1).unwrap_or(sample.len());
        contain::decode(&unit.file, "CSV", &"schema inference", || {
            fmt.infer_schema(std::io::Cursor::new(&sample[..end]), None)
                .map(|(schema, _)| schema)
        })
    };
    let data = starts.len() - 1;
    let schema = match infer(data)? {
        Ok(schema) => schema,
        Err(_) => {
            // A bad record in the sample (a ragged row): find the first one by bisection
            // and infer on the records before it; the reader then reports it with its line
            // (or skips it with --skip-bad-rows).
            if let Err(e) = infer(0)? {
                return Err(Error::input_at_line(
                    &unit.file,
                    starts[0].0,
                    format!("cannot read the CSV header: {e}"),
                ));
            }
            let (mut good, mut bad) = (0usize, data);
            while bad - good > 1 {
                let mid = good + (bad - good) / 2;
                if infer(mid)?.is_ok() {
                    good = mid;
                } else {
                    bad = mid;
                }
            }
            infer(good)?.map_err(|e| {
                Error::input(&unit.file, format!("cannot infer the CSV schema: {e}"))
            })?
        }
    };
    check_unique_columns(&unit.file, &schema)?;
    Ok((Arc::new(widen(schema, opts)), recs.rewind()))
}

fn read_csv(
    unit: &Unit,
    opts: &ReadOptions,
    f: &mut dyn FnMut(&RecordBatch) -> Result<()>,
) -> Result<Skipped> {
    let delim = opts
        .delimiter
        .unwrap_or(if unit.format == TableFormat::Tsv {
            b'\t'
        } else {
            b','
        });
    let (schema, stream) = infer_csv(unit, opts, delim)?;
    let mut recs = Records::over(stream, unit, true, None);
    recs.skip_header()?;
    let mut skipped = Skipped::default();
    let parse = |chunk: &[u8]| -> std::result::Result<Vec<RecordBatch>, String> {
        contain::catch(|| {
            let r = arrow_csv::ReaderBuilder::new(schema.clone())
                .with_header(false)
                .with_delimiter(delim)
                .with_batch_size(opts.batch_rows)
                .build(std::io::Cursor::new(chunk))
                .map_err(|e| e.to_string())?;
            r.collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())
        })
        .unwrap_or_else(|m| Err(contain::panicked("CSV", &m)))
    };
    process_chunks(&mut recs, opts, &mut skipped, &parse, f)?;
    Ok(skipped)
}

/// The JSON Lines schema from *every* row, in one streaming pass before the read (one
/// block of records in memory at a time, each record under `[input] max_record_bytes`).
/// Inferring from a sample would lose a key that first appears after it (the column would
/// vanish from the profile); with the whole file, a late key is a column (null before it)
/// and a late change of type widens the column as arrow's inference does (integers and
/// floats to Float64, numbers and strings to text). A row that is not JSON is an error
/// naming its line, or, with `skip_bad_rows`, left out here and skipped again (and
/// counted) by the reader. Top-level keys are counted against `[input] max_columns` as
/// they appear, so a file of ever-new keys cannot grow the inferred schema without bound.
fn infer_jsonl(unit: &Unit, opts: &ReadOptions) -> Result<arrow_schema::Schema> {
    let mut recs = Records::open(unit, false)?;
    let max_columns = source::limits().max_columns;
    let mut keys: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut chunk = Vec::new();
    let mut starts: Vec<(u64, usize)> = Vec::new();
    let mut next = 0usize;
    let mut eof = false;
    let mut failed: Option<Error> = None;
    let mut line = 0u64;
    let mut rows = 0u64;
    let values = std::iter::from_fn(|| loop {
        if next >= starts.len() {
            if eof {
                return None;
            }
            match recs.fill_chunk(opts.batch_rows, &mut chunk, &mut starts) {
                Ok(e) => eof = e,
                Err(e) => {
                    failed = Some(e);
                    return None;
                }
            }
            next = 0;
            continue;
        }
        let (l, off) = starts[next];
        let end = starts.get(next + 1).map(|s| s.1).unwrap_or(chunk.len());
        next += 1;
        line = l;
        match serde_json::from_slice::<serde_json::Value>(&chunk[off..end]) {
            Ok(v) => {
                if let Some(obj) = v.as_object() {
                    for k in obj.keys() {
                        if !keys.contains(k.as_str()) {
                            keys.insert(k.clone());
                        }
                    }
                    if keys.len() as u64 > max_columns {
                        failed = Some(Error::input_at_line(
                            &unit.file,
                            l,
                            format!(
                                "more than {max_columns} distinct keys so far ([input] max_columns)"
                            ),
                        ));
                        return None;
                    }
                }
                rows += 1;
                return Some(Ok::<_, arrow_schema::ArrowError>(v));
            }
            Err(_) if opts.skip_bad_rows => continue,
            Err(e) => {
                failed = Some(Error::input_at_line(
                    &unit.file,
                    l,
                    format!("not valid JSON: {e}"),
                ));
                return None;
            }
        }
    });
    let inferred = contain::decode(&unit.file, "JSON", &"schema inference", || {
        arrow_json::reader::infer_json_schema_from_iterator(values)
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    let schema = inferred.map_err(|e| {
        Error::input_at_line(
            &unit.file,
            line,
            format!("cannot infer the JSON schema: {e}"),
        )
    })?;
    if rows == 0 {
        return Err(Error::input(&unit.file, "no JSON rows"));
    }
    check_columns(&unit.file, schema.fields().len())?;
    Ok(schema)
}

fn read_jsonl(
    unit: &Unit,
    opts: &ReadOptions,
    f: &mut dyn FnMut(&RecordBatch) -> Result<()>,
) -> Result<Skipped> {
    let schema = Arc::new(widen(infer_jsonl(unit, opts)?, opts));
    let mut recs = Records::open(unit, false)?;
    let mut skipped = Skipped::default();
    let parse = |chunk: &[u8]| -> std::result::Result<Vec<RecordBatch>, String> {
        if let Ok(text) = std::str::from_utf8(chunk) {
            for l in text.lines() {
                serde_json::from_str::<serde_json::Value>(l).map_err(|e| e.to_string())?;
            }
        } else {
            return Err("invalid UTF-8".into());
        }
        // Strict: a key that is not in the schema is an error, never dropped (the schema
        // comes from every row, so this only fires if the file changed between passes).
        // Primitives are coerced into text columns: a column is text when inference saw
        // both numbers and strings in it.
        contain::catch(|| {
            let r = arrow_json::ReaderBuilder::new(schema.clone())
                .with_strict_mode(true)
                .with_coerce_primitive(true)
                .with_batch_size(opts.batch_rows)
                .build(std::io::Cursor::new(chunk))
                .map_err(|e| e.to_string())?;
            r.collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())
        })
        .unwrap_or_else(|m| Err(contain::panicked("JSON", &m)))
    };
    process_chunks(&mut recs, opts, &mut skipped, &parse, f)?;
    Ok(skipped)
}

type ParseFn<'a> = dyn Fn(&[u8]) -> std::result::Result<Vec<RecordBatch>, String> + Sync + 'a;

/// Read blocks of whole records, parse them, and hand every batch to `f`, in file order.
///
/// Two stages: a helper thread reads and parses the next block while this thread runs `f`
/// (the profile sketches) on the current one. Parsing CSV/JSON is about half the work on a
/// text file, and one file is otherwise one thread. The channel holds two blocks, so memory
/// stays bounded. A block that fails to parse is re-parsed record by record to name the bad
/// line (or skip it with `--skip-bad-rows`).
fn process_chunks(
    recs: &mut Records,
    opts: &ReadOptions,
    skipped: &mut Skipped,
    parse: &ParseFn,
    f: &mut dyn FnMut(&RecordBatch) -> Result<()>,
) -> Result<()> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<RecordBatch>>>(2);
        let producer = scope.spawn(move || {
            if let Err(e) = produce(recs, opts, skipped, parse, &tx) {
                // The consumer may have stopped already; then its own error wins.
                let _ = tx.send(Err(e));
            }
        });
        let mut result = Ok(());
        'recv: for msg in rx.iter() {
            match msg {
                Ok(batches) => {
                    for b in &batches {
                        if let Err(e) = f(b) {
                            result = Err(e);
                            break 'recv;
                        }
                    }
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        // Dropping the receiver makes the producer's next send fail, so it stops early.
        drop(rx);
        producer
            .join()
            .map_err(|_| Error::internal("the CSV/JSON reader thread panicked"))?;
        result
    })
}

/// The producer side of [`process_chunks`]: returns when the file ends, on the first error,
/// or when the consumer hung up.
fn produce(
    recs: &mut Records,
    opts: &ReadOptions,
    skipped: &mut Skipped,
    parse: &ParseFn,
    tx: &std::sync::mpsc::SyncSender<Result<Vec<RecordBatch>>>,
) -> Result<()> {
    let mut chunk = Vec::with_capacity(4 << 20);
    let mut starts: Vec<(u64, usize)> = Vec::with_capacity(opts.batch_rows);
    loop {
        let eof = recs.fill_chunk(opts.batch_rows, &mut chunk, &mut starts)?;
        if starts.is_empty() {
            if eof {
                return Ok(());
            }
            continue;
        }
        match parse(&chunk) {
            Ok(batches) => {
                if tx.send(Ok(batches)).is_err() {
                    return Ok(());
                }
            }
            Err(_) => {
                // Find the bad record(s): parse one by one.
                for (i, (line, off)) in starts.iter().enumerate() {
                    let end = starts.get(i + 1).map(|x| x.1).unwrap_or(chunk.len());
                    let rec = &chunk[*off..end];
                    match parse(rec) {
                        Ok(batches) => {
                            if tx.send(Ok(batches)).is_err() {
                                return Ok(());
                            }
                        }
                        Err(e) => {
                            let e = e
                                .replace("line 1", "this line")
                                .replace("line 0", "this line");
                            if !opts.skip_bad_rows {
                                return Err(Error::input_at_line(&recs.path, *line, e));
                            }
                            skipped.rows += 1;
                            if skipped.examples.len() < 10 {
                                skipped
                                    .examples
                                    .push((recs.path.display().to_string(), *line, e));
                            }
                        }
                    }
                }
            }
        }
        if eof {
            return Ok(());
        }
    }
}

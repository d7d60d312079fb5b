//! Object storage behind the source layer: `s3://`, `gs://`, `az://` prefixes and objects,
//! `http(s)://` single objects, through the `object_store` crate (what arrow/parquet,
//! DataFusion and delta-rs use).
//!
//! Everything async stays in this file: one small tokio runtime, entered with `block_on`
//! from the synchronous (rayon) code around it. The rest of mlguard sees listings and
//! [`ByteSource`]s.
//!
//! Credentials and endpoints come from the standard environment, read by object_store's
//! `from_env` builders (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, instance / web-identity credentials;
//! `GOOGLE_APPLICATION_CREDENTIALS` / `GOOGLE_SERVICE_ACCOUNT`; `AZURE_STORAGE_ACCOUNT_NAME`,
//! `AZURE_STORAGE_ACCOUNT_KEY`, SAS, `AZURE_CLIENT_*`), optionally overridden by `[storage]`
//! in mlguard.toml (endpoint, region, allow_http — never secrets). Nothing here prints or
//! stores a credential: errors carry the URL and the store's message, which names the
//! request and status, not the signing material.
//!
//! Every read of an object is pinned to what the listing (or the first HEAD) saw: the ETag
//! as `If-Match` and the version id when the store gives one. An object replaced between
//! listing and reading fails with "changed while it was being read" instead of hashing a
//! mix of two versions. A range that fails mid-body (dropped connection) is retried whole
//! (object_store retries requests with backoff itself), so a digest is never computed over
//! a short read.

use super::source::ByteSource;
use crate::error::{Error, Result};
use bytes::Bytes;
use object_store::path::Path as ObjPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// URL schemes read from object storage (`file://` is a local path, see [`local_path`]).
const SCHEMES: [&str; 8] = [
    "s3://", "s3a://", "gs://", "az://", "abfs://", "abfss://", "https://", "http://",
];

/// `[storage]` in mlguard.toml: endpoints and tuning, never credentials.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Storage {
    /// S3-compatible endpoint (MinIO, Ceph, R2); overrides `AWS_ENDPOINT_URL`.
    pub endpoint: Option<String>,
    /// Region; overrides `AWS_REGION`.
    pub region: Option<String>,
    /// Allow plain-HTTP endpoints (overrides `AWS_ALLOW_HTTP`).
    pub allow_http: Option<bool>,
    /// Parallel requests for remote work [default: 16].
    pub concurrency: Option<usize>,
}

static STORAGE: OnceLock<Storage> = OnceLock::new();

/// Install `[storage]` for this process (once, at start-up).
pub fn set_storage(s: Storage) {
    let _ = STORAGE.set(s);
}

fn storage() -> Storage {
    STORAGE.get().cloned().unwrap_or_default()
}

/// Parallel requests for remote work.
pub fn concurrency() -> usize {
    storage().concurrency.unwrap_or(16).clamp(1, 256)
}

/// True when `p` is an object-storage URL.
pub fn is_url(p: &Path) -> bool {
    let s = p.to_string_lossy();
    SCHEMES.iter().any(|k| s.starts_with(k))
}

/// A `file://` URL as a local path (anything else unchanged).
pub fn local_path(p: &Path) -> PathBuf {
    let s = p.to_string_lossy();
    match s.strip_prefix("file://") {
        Some(rest) => PathBuf::from(rest),
        None => p.to_path_buf(),
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mlguard-io")
            .enable_all()
            .build()
            .expect("cannot start the I/O runtime")
    })
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

/// A parsed URL: the store for its bucket/container/host and the key inside it.
#[derive(Debug, Clone)]
pub struct Url {
    pub store: Arc<dyn ObjectStore>,
    /// `s3://bucket` (no trailing slash).
    pub base: String,
    /// Key or prefix inside the store (no leading slash; a prefix may end with `/`).
    pub key: String,
}

impl Url {
    pub fn parse(p: &Path) -> Result<Url> {
        let s = p.to_string_lossy().to_string();
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| Error::usage(format!("{s}: not a URL")))?;
        let (host, key) = rest.split_once('/').unwrap_or((rest, ""));
        if host.is_empty() {
            return Err(Error::usage(format!(
                "{s}: no bucket/container/host in the URL"
            )));
        }
        let base = format!("{scheme}://{host}");
        static STORES: OnceLock<Mutex<HashMap<String, Arc<dyn ObjectStore>>>> = OnceLock::new();
        let stores = STORES.get_or_init(Default::default);
        let mut map = stores.lock().unwrap_or_else(|e| e.into_inner());
        let store = match map.get(&base) {
            Some(st) => st.clone(),
            None => {
                let st = build(scheme, &base).map_err(|e| Error::input(&s, e))?;
                map.insert(base.clone(), st.clone());
                st
            }
        };
        Ok(Url {
            store,
            base,
            key: key.to_string(),
        })
    }

    fn display(&self, key: &str) -> PathBuf {
        PathBuf::from(format!("{}/{key}", self.base))
    }
}

fn build(scheme: &str, base: &str) -> std::result::Result<Arc<dyn ObjectStore>, String> {
    let st = storage();
    let e = |e: object_store::Error| format!("cannot set up the object store: {e}");
    Ok(match scheme {
        "s3" | "s3a" => {
            let mut b = object_store::aws::AmazonS3Builder::from_env().with_url(base);
            if let Some(ep) = &st.endpoint {
                b = b.with_endpoint(ep);
            }
            if let Some(r) = &st.region {
                b = b.with_region(r);
            }
            if let Some(h) = st.allow_http {
                b = b.with_allow_http(h);
            }
            Arc::new(b.with_retry(retry()).build().map_err(e)?)
        }
        "gs" => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(base)
                .with_retry(retry())
                .build()
                .map_err(e)?,
        ),
        "az" | "abfs" | "abfss" => Arc::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(base)
                .with_retry(retry())
                .build()
                .map_err(e)?,
        ),
        "http" | "https" => Arc::new(
            object_store::http::HttpBuilder::new()
                .with_url(base)
                .with_client_options(
                    object_store::ClientOptions::new().with_allow_http(scheme == "http"),
                )
                .with_retry(retry())
                .build()
                .map_err(e)?,
        ),
        other => return Err(format!("unsupported URL scheme '{other}://'")),
    })
}

/// object_store's retry with backoff, bounded so that a dead endpoint fails in ~1 min.
fn retry() -> object_store::RetryConfig {
    object_store::RetryConfig {
        max_retries: 5,
        retry_timeout: std::time::Duration::from_secs(60),
        ..Default::default()
    }
}

/// What the listing saw of one object; reads are pinned to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub e_tag: Option<String>,
    pub version: Option<String>,
    /// Last-modified time, RFC 3339 UTC (information only: reads are pinned by ETag/version).
    pub last_modified: Option<String>,
}

impl ObjectInfo {
    fn of(m: &object_store::ObjectMeta) -> ObjectInfo {
        ObjectInfo {
            size: m.size,
            e_tag: m.e_tag.clone(),
            version: m.version.clone(),
            last_modified: Some(
                m.last_modified
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        }
    }
}

fn describe(url: &Path, e: object_store::Error) -> Error {
    let msg = match &e {
        object_store::Error::NotFound { .. } => "not found (no such object or bucket)".to_string(),
        object_store::Error::Precondition { .. } | object_store::Error::NotModified { .. } => {
            "changed while it was being read (its ETag/version no longer matches the listing); re-run when writers are done".to_string()
        }
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            format!("access denied (check the credentials in the environment and the bucket policy): {e}")
        }
        _ => other_message(&e),
    };
    Error::input(url, msg)
}

/// A store error that is not one of the typed cases: say "throttled" when it is (S3
/// `SlowDown`/503, GCS/Azure 429), so the user knows to lower `[storage] concurrency` or
/// wait, not to look for a bug.
fn other_message(e: &object_store::Error) -> String {
    let m = e.to_string();
    let throttled = [
        "SlowDown",
        "503",
        "429",
        "Too Many Requests",
        "TooManyRequests",
        "ServerBusy",
    ]
    .iter()
    .any(|k| m.contains(k));
    let denied = [
        "403 Forbidden",
        "401 Unauthorized",
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AuthorizationFailure",
    ]
    .iter()
    .any(|k| m.contains(k));
    if denied {
        format!(
            "access denied (check the credentials in the environment and the bucket policy): {m}"
        )
    } else if throttled {
        format!("throttled by the store (retried with backoff, still refused; lower [storage] concurrency or retry later): {m}")
    } else {
        m
    }
}

/// List every object under the prefix `url` (a "directory": a trailing `/` is implied).
/// Returns `(relative key, info)` sorted by key bytes. An empty listing of a bucket that
/// does not exist is an error from the store; an empty prefix is an empty list.
pub fn list(url: &Path) -> Result<Vec<(String, ObjectInfo)>> {
    use futures::TryStreamExt;
    let u = Url::parse(url)?;
    let mut prefix = u.key.clone();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    let p = (!prefix.is_empty()).then(|| ObjPath::from(prefix.trim_end_matches('/')));
    let metas: Vec<object_store::ObjectMeta> =
        block_on(u.store.list(p.as_ref()).try_collect()).map_err(|e| describe(url, e))?;
    let mut out: Vec<(String, ObjectInfo)> = metas
        .into_iter()
        .filter_map(|m| {
            let k = m.location.as_ref().to_string();
            let rel = k.strip_prefix(&prefix).unwrap_or(&k).to_string();
            (!rel.is_empty()).then_some((rel, ObjectInfo::of(&m)))
        })
        .collect();
    out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(out)
}

/// [`list`], walking the prefix level by level (`list_with_delimiter`) and not listing
/// sub-prefixes that name a date outside `dates` ([`super::source::DateRange`]): a month of
/// a `YYYY/MM/DD` layout costs a few calls per level, not a listing of every year. Below a
/// day inside the range, everything is listed at once (one paginated listing per day,
/// `concurrency` of them in flight). The prefixes left out are appended to `pruned`.
pub fn list_dated(
    url: &Path,
    dates: &super::source::DateRange,
    pruned: &mut Vec<PathBuf>,
) -> Result<Vec<(String, ObjectInfo)>> {
    use super::source::DateJudgement;
    use futures::{StreamExt, TryStreamExt};
    let u = Url::parse(url)?;
    let mut prefix = u.key.clone();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    let root = (!prefix.is_empty()).then(|| ObjPath::from(prefix.trim_end_matches('/')));
    let judge = |p: &ObjPath| dates.judge(p.as_ref().split('/'));
    let mut metas: Vec<object_store::ObjectMeta> = Vec::new();
    let mut days: Vec<ObjPath> = Vec::new();
    let mut open: Vec<Option<ObjPath>> = match &root {
        Some(r) if judge(r) == DateJudgement::Day => {
            days.push(r.clone());
            Vec::new()
        }
        Some(r) if judge(r) == DateJudgement::Outside => {
            pruned.push(url.to_path_buf());
            Vec::new()
        }
        r => vec![r.clone()],
    };
    // Breadth first over the levels that are not yet a whole day; bounded by the depth of
    // real key layouts (a key has at most 1024 bytes, so at most 512 levels).
    let mut levels = 0;
    while let Some(p) = open.pop() {
        levels += 1;
        if levels > 100_000 {
            return Err(Error::input(
                url,
                "too many prefixes to walk by date (more than 100000); list without --since/--until",
            ));
        }
        let r = block_on(u.store.list_with_delimiter(p.as_ref())).map_err(|e| describe(url, e))?;
        metas.extend(r.objects);
        for cp in r.common_prefixes {
            match judge(&cp) {
                DateJudgement::Outside => pruned.push(u.display(cp.as_ref())),
                DateJudgement::Day => days.push(cp),
                DateJudgement::Open => open.push(Some(cp)),
            }
        }
    }
    let store = &u.store;
    let lists: Vec<Vec<object_store::ObjectMeta>> = block_on(
        futures::stream::iter(
            days.into_iter()
                .map(|d| async move { store.list(Some(&d)).try_collect::<Vec<_>>().await }),
        )
        .buffer_unordered(concurrency())
        .try_collect(),
    )
    .map_err(|e| describe(url, e))?;
    metas.extend(lists.into_iter().flatten());
    let mut out: Vec<(String, ObjectInfo)> = metas
        .into_iter()
        .filter_map(|m| {
            let k = m.location.as_ref().to_string();
            let rel = k.strip_prefix(&prefix).unwrap_or(&k).to_string();
            (!rel.is_empty()).then_some((rel, ObjectInfo::of(&m)))
        })
        .collect();
    out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.dedup_by(|a, b| a.0 == b.0);
    pruned.sort();
    Ok(out)
}

/// The metadata of one object, or `None` when there is none at that key.
pub fn head(url: &Path) -> Result<Option<ObjectInfo>> {
    let u = Url::parse(url)?;
    if u.key.is_empty() || u.key.ends_with('/') {
        return Ok(None);
    }
    match block_on(u.store.head(&ObjPath::from(u.key.as_str()))) {
        Ok(m) => Ok(Some(ObjectInfo::of(&m))),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(describe(url, e)),
    }
}

/// One object, read by ranges pinned to its listed ETag/version.
#[derive(Debug)]
pub struct RemoteObject {
    store: Arc<dyn ObjectStore>,
    key: ObjPath,
    info: ObjectInfo,
    name: PathBuf,
}

impl RemoteObject {
    /// An object whose metadata the caller already has (from [`list`]).
    pub fn with_info(url: &Path, info: ObjectInfo) -> Result<RemoteObject> {
        let u = Url::parse(url)?;
        Ok(RemoteObject {
            key: ObjPath::from(u.key.as_str()),
            name: u.display(&u.key),
            store: u.store,
            info,
        })
    }

    /// Open an object: one HEAD for its size and ETag.
    pub fn open(url: &Path) -> Result<RemoteObject> {
        let info =
            head(url)?.ok_or_else(|| Error::input(url, "not found (no such object or bucket)"))?;
        RemoteObject::with_info(url, info)
    }

    pub fn info(&self) -> &ObjectInfo {
        &self.info
    }
}

/// Ranges larger than this are fetched as several concurrent GETs.
const PART: u64 = 8 << 20;

impl RemoteObject {
    /// One range, pinned to the listed version. object_store retries failed requests with
    /// backoff; a body cut mid-stream (dropped connection) or a short body surfaces here
    /// and the whole range is fetched again, so a caller never sees a short result.
    async fn fetch(&self, range: Range<u64>) -> std::io::Result<Bytes> {
        if range.end > self.info.size || range.start > range.end {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "range {}..{} outside the {} bytes of the object",
                    range.start, range.end, self.info.size
                ),
            ));
        }
        if range.start == range.end {
            return Ok(Bytes::new());
        }
        let want = (range.end - range.start) as usize;
        let mut last = None;
        for attempt in 0..RANGE_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
            }
            let opts = GetOptions {
                if_match: self.info.e_tag.clone(),
                version: self.info.version.clone(),
                range: Some(GetRange::Bounded(range.clone())),
                ..Default::default()
            };
            let r = async {
                let got = self.store.get_opts(&self.key, opts).await?;
                got.bytes().await
            }
            .await;
            match r {
                Ok(b) if b.len() == want => return Ok(b),
                Ok(b) => {
                    last = Some(format!(
                        "short read: {} of {want} bytes at offset {}",
                        b.len(),
                        range.start
                    ))
                }
                Err(
                    e @ (object_store::Error::Precondition { .. }
                    | object_store::Error::NotModified { .. }
                    | object_store::Error::NotFound { .. }
                    | object_store::Error::PermissionDenied { .. }
                    | object_store::Error::Unauthenticated { .. }),
                ) => {
                    let msg = describe(&self.name, e).to_string();
                    let msg = msg
                        .strip_prefix(&format!("{}: ", self.name.display()))
                        .unwrap_or(&msg)
                        .to_string();
                    return Err(std::io::Error::other(msg));
                }
                Err(e) => last = Some(other_message(&e)),
            }
        }
        Err(std::io::Error::other(format!(
            "bytes {}..{} could not be read after {RANGE_ATTEMPTS} attempts: {}",
            range.start,
            range.end,
            last.unwrap_or_else(|| "read failed".into())
        )))
    }
}

/// Attempts per range (each request itself retried by object_store on 5xx/throttling).
const RANGE_ATTEMPTS: u32 = 4;

impl ByteSource for RemoteObject {
    fn len(&self) -> u64 {
        self.info.size
    }

    fn get_range(&self, range: Range<u64>) -> std::io::Result<Bytes> {
        if range.end.saturating_sub(range.start) > PART {
            let mut v = self.get_ranges(std::slice::from_ref(&range))?;
            return Ok(v.pop().unwrap_or_default());
        }
        block_on(self.fetch(range))
    }

    /// Every range cut into parts of at most 8 MiB, `concurrency` GETs in flight, and put
    /// back together in order.
    fn get_ranges(&self, ranges: &[Range<u64>]) -> std::io::Result<Vec<Bytes>> {
        use futures::{StreamExt, TryStreamExt};
        let mut parts: Vec<(usize, Range<u64>)> = Vec::new();
        for (i, r) in ranges.iter().enumerate() {
            let mut off = r.start;
            loop {
                let end = (off + PART).min(r.end);
                parts.push((i, off..end));
                off = end;
                if off >= r.end {
                    break;
                }
            }
        }
        let got: Vec<(usize, Bytes)> = block_on(
            futures::stream::iter(
                parts
                    .into_iter()
                    .map(|(i, r)| async move { self.fetch(r).await.map(|b| (i, b)) }),
            )
            .buffered(concurrency())
            .try_collect(),
        )?;
        let mut out: Vec<Vec<Bytes>> = vec![Vec::new(); ranges.len()];
        for (i, b) in got {
            out[i].push(b);
        }
        Ok(out
            .into_iter()
            .map(|mut v| {
                if v.len() == 1 {
                    v.pop().unwrap_or_default()
                } else {
                    let mut m = bytes::BytesMut::with_capacity(v.iter().map(Bytes::len).sum());
                    for b in v {
                        m.extend_from_slice(&b);
                    }
                    m.freeze()
                }
            })
            .collect())
    }

    fn name(&self) -> &Path {
        &self.name
    }

    fn object(&self) -> Option<&ObjectInfo> {
        Some(&self.info)
    }
}

/// A sequential reader over a [`ByteSource`], fetching `block` bytes at a time with the
/// next block requested in the background while the current one is consumed.
pub struct Sequential {
    rx: std::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    cur: Bytes,
    done: bool,
}

impl Sequential {
    pub fn new(src: Arc<dyn ByteSource>, block: u64) -> Sequential {
        let (tx, rx) = std::sync::mpsc::sync_channel(2);
        std::thread::spawn(move || {
            let len = src.len();
            let mut off = 0;
            while off < len {
                let end = (off + block).min(len);
                let r = src.get_range(off..end);
                let failed = r.is_err();
                if tx.send(r).is_err() || failed {
                    return;
                }
                off = end;
            }
        });
        Sequential {
            rx,
            cur: Bytes::new(),
            done: false,
        }
    }
}

impl std::io::Read for Sequential {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(r) => self.cur = r?,
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}

//! Object stores as a source: `s3://BUCKET/PREFIX`, `gs://`, `az://`/`abfss://` and `https://`,
//! through `object_store` on the process's one runtime. A URL that ends in `/` (or names no
//! object) is a prefix: its objects of a known data format are listed and scanned like the
//! files of a folder; a URL that names an object is that object. Each is an artifact named by
//! its URL (`s3://acme-exports/2026/customers.csv`).
//!
//! Credentials and endpoints come from the standard environment, as `object_store`'s builders
//! read it (`from_env`): `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP` for S3 and its compatibles, and the
//! `GOOGLE_*` and `AZURE_*` variables for the others. None is ever printed.
//!
//! An object is fetched once, streamed into a private temporary copy (a folder of mode 0700,
//! removed when the scan ends) while its sha256 is computed: the artifact's digest is the
//! sha256 of the content (an ETag is no digest), and the copy is then read as a local file of
//! its format would be. A sample scan therefore still transfers the whole object.
//!
//! An erasure holds an object ([`Held`]): its copy, with the ETag (and version) it was read
//! at. The rewritten copy replaces the object with a conditional PUT (`If-Match` on that
//! ETag), so a writer that changed the object meanwhile is never overwritten silently: the
//! store refuses, and the erasure says so and leaves the object as that writer left it. A PUT
//! is atomic (readers see the old or the new object, never a part), so a killed erasure leaves
//! each object before or after.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};

use super::location::Store;
use super::{Format, Source};
use crate::source::ScanError;

/// An object fetched into a private local copy.
pub struct Fetched {
    /// The object's URL: its artifact name.
    pub url: String,
    /// The local copy, of the object's format.
    pub source: Source,
    /// `sha256:` of the content.
    pub digest: String,
}

/// The objects a URL names (module doc), fetched into `dir`.
pub fn fetch(store: Store, url: &str, dir: &Path) -> Result<Vec<Fetched>, ScanError> {
    let parsed = url::Url::parse(url).map_err(|e| failed(url, &format!("not a URL: {e}")))?;
    let client = open(store, &parsed)?;
    let key = parsed.path().trim_start_matches('/').to_string();
    let base = &url[..url.len() - parsed.path().len()];
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let mut keys: Vec<String> = Vec::new();
        if !key.is_empty() && !key.ends_with('/') {
            // One object, if it is there; else a prefix without its slash.
            let path = object_store::path::Path::from(key.as_str());
            if client.head(&path).await.is_ok() {
                keys.push(key.clone());
            }
        }
        if keys.is_empty() {
            let prefix = object_store::path::Path::from(key.trim_end_matches('/'));
            let mut listing = client.list(Some(&prefix));
            while let Some(meta) = listing.next().await {
                let meta = meta.map_err(|e| failed(url, &e.to_string()))?;
                let k = meta.location.to_string();
                if Format::of(Path::new(&k)).is_some() {
                    keys.push(k);
                }
            }
            keys.sort();
            if keys.is_empty() {
                return Err(ScanError::NoData(PathBuf::from(url)));
            }
        }
        let mut out = Vec::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            let object_url = format!("{base}/{k}");
            let format = Format::of(Path::new(k))
                .ok_or_else(|| ScanError::UnknownFormat(PathBuf::from(&object_url)))?;
            // One folder per object, so that the copy keeps the object's own name (a table's
            // name is its file's).
            let folder = dir.join(i.to_string());
            std::fs::create_dir(&folder).map_err(|e| failed(&object_url, &e.to_string()))?;
            let name = k.rsplit('/').next().unwrap_or(k);
            let local = folder.join(name);
            let (size, digest, _) =
                download(client.as_ref(), k, &local)
                    .await
                    .map_err(|e| match e {
                        Missing => failed(&object_url, "listed, then gone"),
                        Failed(e) => failed(&object_url, &e),
                    })?;
            out.push(Fetched {
                url: object_url,
                source: Source {
                    path: local,
                    format,
                    size,
                },
                digest,
            });
        }
        Ok(out)
    })
}

/// One object held for an erasure: its private copy, and the version of the object it is a
/// copy of (module doc).
pub struct Held {
    pub copy: Fetched,
    client: Arc<dyn ObjectStore>,
    key: String,
    etag: Option<String>,
    version: Option<String>,
    /// The private folder of the copy, removed when the object is let go.
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held").field("url", &self.copy.url).finish()
    }
}

/// The object `url` names, fetched and held (module doc); `None` when there is no such object
/// (or the URL is not of a data format).
pub fn hold(store: Store, url: &str) -> Result<Option<Held>, ScanError> {
    let parsed = url::Url::parse(url).map_err(|e| failed(url, &format!("not a URL: {e}")))?;
    let key = parsed.path().trim_start_matches('/').to_string();
    let Some(format) = Format::of(Path::new(&key)) else {
        return Ok(None);
    };
    let client = open(store, &parsed)?;
    let dir = tempfile::tempdir()
        .map_err(|e| failed(url, &format!("a temporary folder for its copy: {e}")))?;
    let name = key.rsplit('/').next().unwrap_or(&key).to_string();
    let local = dir.path().join(name);
    let got = super::runtime()?.block_on(async {
        match download(client.as_ref(), &key, &local).await {
            Err(Missing) => Ok(None),
            Err(Failed(e)) => Err(failed(url, &e)),
            Ok(got) => Ok(Some(got)),
        }
    })?;
    Ok(got.map(|(size, digest, meta)| Held {
        copy: Fetched {
            url: url.to_string(),
            source: Source {
                path: local,
                format,
                size,
            },
            digest,
        },
        client,
        key,
        etag: meta.e_tag,
        version: meta.version,
        _dir: dir,
    }))
}

impl Held {
    /// Replaces the object with its (rewritten) copy, only if the object is still the version
    /// it was read at; returns the copy's new `sha256:` and size.
    pub fn replace(&self) -> Result<(String, u64), ScanError> {
        let url = &self.copy.url;
        let bytes =
            std::fs::read(&self.copy.source.path).map_err(|e| failed(url, &e.to_string()))?;
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        let size = bytes.len() as u64;
        let mode = match (&self.etag, &self.version) {
            (None, None) => {
                return Err(failed(
                    url,
                    "the store gave no ETag or version to replace it conditionally: nothing was written",
                ));
            }
            (e_tag, version) => object_store::PutMode::Update(object_store::UpdateVersion {
                e_tag: e_tag.clone(),
                version: version.clone(),
            }),
        };
        let opts = object_store::PutOptions {
            mode,
            ..Default::default()
        };
        let path = object_store::path::Path::from(self.key.as_str());
        super::runtime()?
            .block_on(self.client.put_opts(&path, bytes.into(), opts))
            .map_err(|e| match e {
                object_store::Error::Precondition { .. } => failed(
                    url,
                    "changed by another writer since it was read (its ETag no longer matches): nothing was overwritten; run the erasure again",
                ),
                e => failed(url, &e.to_string()),
            })?;
        Ok((digest, size))
    }
}

/// Uploads `local` as the object `url` names, in parts of a multipart upload (8 MB each, at
/// most four in flight): the object appears only when the upload completes, and a failed
/// upload is aborted, leaving any earlier object of that name as it was.
pub fn upload(store: Store, url: &str, local: &Path) -> Result<(), ScanError> {
    use std::io::Read;
    let parsed = url::Url::parse(url).map_err(|e| failed(url, &format!("not a URL: {e}")))?;
    let key = parsed.path().trim_start_matches('/').to_string();
    if key.is_empty() || key.ends_with('/') {
        return Err(failed(
            url,
            "names no object (a prefix): give the object's key",
        ));
    }
    let client = open(store, &parsed)?;
    let path = object_store::path::Path::from(key.as_str());
    let mut file = std::fs::File::open(local).map_err(|e| failed(url, &e.to_string()))?;
    super::runtime()?.block_on(async {
        let parts = client
            .put_multipart(&path)
            .await
            .map_err(|e| failed(url, &e.to_string()))?;
        let mut writer = object_store::WriteMultipart::new_with_chunk_size(parts, PART);
        let mut buf = vec![0u8; PART];
        let sent: Result<(), String> = async {
            loop {
                let n = file.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    return Ok(());
                }
                writer
                    .wait_for_capacity(4)
                    .await
                    .map_err(|e| e.to_string())?;
                writer.write(&buf[..n]);
            }
        }
        .await;
        match sent {
            Ok(()) => writer
                .finish()
                .await
                .map(|_| ())
                .map_err(|e| failed(url, &e.to_string())),
            Err(e) => {
                let _ = writer.abort().await;
                Err(failed(url, &e))
            }
        }
    })
}

/// The size of an upload's parts (S3's smallest is 5 MB).
const PART: usize = 8 << 20;

enum Miss {
    Missing,
    Failed(String),
}
use Miss::{Failed, Missing};

/// Streams an object into `local`, hashing it; returns its size, `sha256:` digest and the
/// store's metadata (ETag, version).
async fn download(
    client: &dyn ObjectStore,
    key: &str,
    local: &Path,
) -> Result<(u64, String, object_store::ObjectMeta), Miss> {
    let path = object_store::path::Path::from(key);
    let got = match client.get(&path).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => return Err(Missing),
        Err(e) => return Err(Failed(e.to_string())),
    };
    let meta = got.meta.clone();
    let (size, digest) = copy_into(got, local).await.map_err(Failed)?;
    Ok((size, digest, meta))
}

/// Writes an object's content into `local`, hashing it as it streams.
async fn copy_into(got: object_store::GetResult, local: &Path) -> Result<(u64, String), String> {
    let mut stream = got.into_stream();
    let mut file = std::fs::File::create(local).map_err(|e| e.to_string())?;
    let (mut hash, mut size) = (Sha256::new(), 0u64);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        hash.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk).map_err(|e| e.to_string())?;
    }
    file.sync_all().map_err(|e| e.to_string())?;
    Ok((size, format!("sha256:{}", hex::encode(hash.finalize()))))
}

/// The store a URL names, configured from the environment.
fn open(store: Store, url: &url::Url) -> Result<Arc<dyn ObjectStore>, ScanError> {
    let text = url.as_str();
    let bucket_url = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    let built: object_store::Result<Arc<dyn ObjectStore>> = match store {
        Store::S3 => object_store::aws::AmazonS3Builder::from_env()
            .with_url(&bucket_url)
            .build()
            .map(|s| Arc::new(s) as _),
        Store::Gcs => object_store::gcp::GoogleCloudStorageBuilder::from_env()
            .with_url(&bucket_url)
            .build()
            .map(|s| Arc::new(s) as _),
        Store::Azure => object_store::azure::MicrosoftAzureBuilder::from_env()
            .with_url(text)
            .build()
            .map(|s| Arc::new(s) as _),
        // A web server is named by its origin: the port is part of it, and plain `http://`
        // (which the user wrote) is allowed.
        Store::Https => object_store::http::HttpBuilder::new()
            .with_url(url.origin().ascii_serialization())
            .with_client_options(
                object_store::ClientOptions::new().with_allow_http(url.scheme() == "http"),
            )
            .build()
            .map(|s| Arc::new(s) as _),
    };
    built.map_err(|e| failed(text, &e.to_string()))
}

fn failed(url: &str, why: &str) -> ScanError {
    ScanError::Read {
        path: PathBuf::from(url),
        message: format!("object store: {why}"),
    }
}

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

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};

use super::location::Store;
use super::{Format, Source};
use crate::scan::ScanError;

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
            let (size, digest) = download(client.as_ref(), k, &local)
                .await
                .map_err(|e| failed(&object_url, &e))?;
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

/// Streams an object into `local`, hashing it; returns its size and `sha256:` digest.
async fn download(
    client: &dyn ObjectStore,
    key: &str,
    local: &Path,
) -> Result<(u64, String), String> {
    let path = object_store::path::Path::from(key);
    let got = client.get(&path).await.map_err(|e| e.to_string())?;
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
        Store::Https => object_store::http::HttpBuilder::new()
            .with_url(&bucket_url)
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

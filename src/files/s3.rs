//! Files on an S3-compatible object store (`--storage s3://bucket/prefix`), via `object_store`.
//!
//! An upload is buffered up to one part (`--s3-part-bytes`): a small file is one PUT at commit,
//! a larger one a multipart upload straight to its key, one part in flight while the next is
//! received. A multipart upload is invisible on the store until completed; while it runs, its
//! writer keeps a *marker* `markers/<key>` (holding the upload id) fresh every quarter of
//! `--stale-upload-secs`. Stores have no locks, so the sweep goes by age on the store: a marker
//! older than that belongs to a dead writer (its upload is aborted), and an object without a
//! record is an orphan only once it is older than that and has no fresh marker.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{
    ClientOptions, GetOptions, GetRange, MultipartId, ObjectStore, ObjectStoreExt, PutPayload,
};
use tokio::task::JoinHandle;

use crate::config::{parse_s3_url, S3Options};
use crate::model::time::now_micros;

#[derive(Debug, Clone)]
pub struct S3Store {
    client: Arc<AmazonS3>,
    /// Prepended to every key (`prefix/analyses/…`); empty or ending in `/`.
    prefix: String,
    part_bytes: usize,
    stale: Duration,
}

fn io_error(e: object_store::Error) -> std::io::Error {
    match e {
        object_store::Error::NotFound { .. } => {
            std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string())
        }
        e => std::io::Error::other(e),
    }
}

fn is_not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

fn age_micros(meta: &object_store::ObjectMeta) -> i64 {
    now_micros() - meta.last_modified.timestamp_micros()
}

impl S3Store {
    /// A client for `url`; the endpoint, region and credentials come from the options, else from
    /// the standard `AWS_*` environment variables. The bucket must exist (checked here).
    pub async fn open(url: &str, options: &S3Options) -> anyhow::Result<S3Store> {
        let (bucket, prefix) = parse_s3_url(url).map_err(anyhow::Error::msg)?;
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = &options.s3_endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &options.s3_region {
            builder = builder.with_region(region);
        }
        if let Some(id) = &options.s3_access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &options.s3_secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        // No limit on a whole request (a download streams at its client's pace); a store that
        // stops sending for `--s3-read-timeout` fails the request instead.
        let endpoint = options
            .s3_endpoint
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .or_else(|| std::env::var("AWS_ENDPOINT").ok());
        let plain_http = endpoint.is_some_and(|e| e.starts_with("http://"));
        let client_options = ClientOptions::new()
            .with_allow_http(plain_http)
            .with_timeout_disabled()
            .with_connect_timeout(Duration::from_secs(options.s3_connect_timeout))
            .with_read_timeout(Duration::from_secs(options.s3_read_timeout));
        let client = builder.with_client_options(client_options).build()?;
        let store = S3Store {
            client: Arc::new(client),
            prefix,
            part_bytes: usize::try_from(options.s3_part_bytes).unwrap_or(usize::MAX),
            stale: Duration::from_secs(options.stale_upload_secs),
        };
        // Listing one key proves the endpoint, the credentials and the bucket at start-up.
        store
            .client
            .list_with_delimiter(Some(&store.path("analyses")))
            .await
            .map_err(|e| anyhow::anyhow!("the object store at {url} cannot be listed: {e}"))?;
        Ok(store)
    }

    fn path(&self, key: &str) -> Path {
        Path::from(format!("{}{key}", self.prefix))
    }

    /// The key of a store path (its prefix removed).
    fn key_of<'a>(&self, path: &'a Path) -> Option<&'a str> {
        path.as_ref().strip_prefix(self.prefix.as_str())
    }

    fn stale_micros(&self) -> i64 {
        i64::try_from(self.stale.as_micros()).unwrap_or(i64::MAX)
    }

    pub fn create_upload(&self, key: &str) -> S3Upload {
        S3Upload {
            store: self.clone(),
            key: key.to_owned(),
            buffer: Vec::new(),
            multipart: None,
            size: 0,
        }
    }

    /// The size of a stored object; `None` when it does not exist.
    pub async fn size(&self, key: &str) -> std::io::Result<Option<u64>> {
        match self.client.head(&self.path(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(io_error(e)),
        }
    }

    /// `length` bytes of an object from `start`, streamed.
    pub async fn read(
        &self,
        key: &str,
        start: u64,
        length: u64,
    ) -> std::io::Result<BoxStream<'static, std::io::Result<Bytes>>> {
        if length == 0 {
            return Ok(futures_util::stream::empty().boxed());
        }
        let options = GetOptions {
            range: Some(GetRange::Bounded(start..start + length)),
            ..Default::default()
        };
        let result = self
            .client
            .get_opts(&self.path(key), options)
            .await
            .map_err(io_error)?;
        Ok(result.into_stream().map_err(io_error).boxed())
    }

    /// Write and remove one small object, the way an upload does.
    pub async fn probe_write(&self) -> std::io::Result<()> {
        let path = self.path(&format!("tmp/ready-{}", crate::model::ids::new_id()));
        self.client
            .put(&path, PutPayload::from_static(b"ready"))
            .await
            .map_err(io_error)?;
        self.client.delete(&path).await.map_err(io_error)
    }

    pub async fn remove(&self, key: &str) -> std::io::Result<()> {
        match self.client.delete(&self.path(key)).await {
            Err(e) if !is_not_found(&e) => Err(io_error(e)),
            _ => Ok(()),
        }
    }

    /// Remove every object under the folder key `prefix`.
    pub async fn remove_folder(&self, prefix: &str) -> std::io::Result<()> {
        let folder = self.path(prefix);
        let locations = self
            .client
            .list(Some(&folder))
            .map_ok(|meta| meta.location)
            .boxed();
        self.client
            .delete_stream(locations)
            .try_for_each(|_| async { Ok(()) })
            .await
            .map_err(io_error)
    }

    /// The keys of the objects under the folder key `folder` older than the stale age.
    async fn settled(&self, folder: &str) -> std::io::Result<Vec<String>> {
        let stale = self.stale_micros();
        let objects: Vec<_> = self
            .client
            .list(Some(&self.path(folder)))
            .try_collect()
            .await
            .map_err(io_error)?;
        Ok(objects
            .iter()
            .filter(|meta| age_micros(meta) >= stale)
            .filter_map(|meta| self.key_of(&meta.location).map(str::to_owned))
            .collect())
    }

    /// Abort the multipart uploads of dead writers (stale markers) and remove stale `tmp/`
    /// objects (write probes that did not finish); returns how many.
    pub async fn clean_temp(&self) -> std::io::Result<usize> {
        let mut removed = 0;
        // Markers live under `markers/`; releases before uploads (workflows §2.1) had their own
        // `uploads/` folder, whose markers all name a nested key (`uploads/analyses/…`), never an
        // upload object (`uploads/<name_on_disk>`).
        let mut markers = self.settled("markers").await?;
        markers.extend(
            self.settled("uploads")
                .await?
                .into_iter()
                .filter(|key| key.matches('/').count() > 1),
        );
        for marker in markers {
            let Some(key) = marker
                .strip_prefix("markers/")
                .or_else(|| marker.strip_prefix("uploads/"))
            else {
                continue;
            };
            match self.client.get(&self.path(&marker)).await {
                Ok(got) => {
                    let id = got.bytes().await.map_err(io_error)?;
                    let id = String::from_utf8_lossy(&id).into_owned();
                    // The upload may have been completed or aborted already.
                    let _ = self.client.abort_multipart(&self.path(key), &id).await;
                }
                Err(e) if is_not_found(&e) => continue,
                Err(e) => return Err(io_error(e)),
            }
            self.remove(&marker).await?;
            removed += 1;
        }
        for key in self.settled("tmp").await? {
            self.remove(&key).await?;
            removed += 1;
        }
        Ok(removed)
    }

    /// The settled objects under `folder/`, by owner.
    pub async fn owned_objects(&self, folder: &str) -> std::io::Result<Vec<(String, Vec<String>)>> {
        let mut found: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for key in self.settled(folder).await? {
            let mut parts = key.splitn(3, '/');
            if let (Some(_), Some(id), Some(name)) = (parts.next(), parts.next(), parts.next()) {
                found
                    .entry(id.to_owned())
                    .or_default()
                    .push(name.to_owned());
            }
        }
        Ok(found.into_iter().collect())
    }

    /// The names of the settled upload objects (`uploads/<name_on_disk>`; the nested keys there
    /// are old markers, `clean_temp`'s).
    pub async fn upload_objects(&self) -> std::io::Result<Vec<String>> {
        Ok(self
            .settled("uploads")
            .await?
            .iter()
            .filter_map(|key| key.strip_prefix("uploads/"))
            .filter(|name| !name.contains('/'))
            .map(str::to_owned)
            .collect())
    }

    /// Whether an object may be taken for an orphan: no fresh marker says its upload is live.
    pub async fn claimable(&self, key: &str) -> std::io::Result<bool> {
        match self.client.head(&self.path(&marker_key(key))).await {
            Ok(meta) => Ok(age_micros(&meta) >= self.stale_micros()),
            Err(e) if is_not_found(&e) => Ok(true),
            Err(e) => Err(io_error(e)),
        }
    }
}

/// Not under `uploads/`: that folder holds the uploads themselves (workflows §2.1).
fn marker_key(key: &str) -> String {
    format!("markers/{key}")
}

/// An upload in progress. Dropped without `commit`, it aborts its multipart upload (if it began
/// one) and removes its marker, in the background.
pub struct S3Upload {
    store: S3Store,
    key: String,
    buffer: Vec<u8>,
    multipart: Option<Multipart>,
    size: u64,
}

struct Multipart {
    id: MultipartId,
    parts: Vec<PartId>,
    in_flight: Option<JoinHandle<object_store::Result<PartId>>>,
    heartbeat: JoinHandle<()>,
}

impl S3Upload {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub async fn write(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        let part_bytes = self.store.part_bytes;
        while !bytes.is_empty() {
            let take = (part_bytes - self.buffer.len()).min(bytes.len());
            // A small file keeps a small buffer; a larger one gets exactly one part's worth.
            if self.buffer.capacity() - self.buffer.len() < take {
                let wanted = if self.buffer.is_empty() && take < 1 << 16 {
                    take
                } else {
                    part_bytes - self.buffer.len()
                };
                self.buffer.reserve_exact(wanted);
            }
            self.buffer.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            self.size += take as u64;
            if self.buffer.len() == part_bytes {
                let part = std::mem::take(&mut self.buffer);
                self.send_part(Bytes::from(part)).await?;
            }
        }
        Ok(())
    }

    /// Start the multipart upload if need be, wait for the part in flight, and send this one.
    async fn send_part(&mut self, part: Bytes) -> std::io::Result<()> {
        let path = self.store.path(&self.key);
        if self.multipart.is_none() {
            let id = self
                .store
                .client
                .create_multipart(&path)
                .await
                .map_err(io_error)?;
            let marker = self.store.path(&marker_key(&self.key));
            let payload = PutPayload::from(Bytes::from(id.clone()));
            // The marker exists before any part is sent: a writer killed from here on leaves
            // something the sweep can find.
            if let Err(e) = self.store.client.put(&marker, payload.clone()).await {
                let _ = self.store.client.abort_multipart(&path, &id).await;
                return Err(io_error(e));
            }
            let heartbeat = tokio::spawn({
                let client = self.store.client.clone();
                let every = self.store.stale / 4;
                async move {
                    loop {
                        tokio::time::sleep(every).await;
                        if let Err(e) = client.put(&marker, payload.clone()).await {
                            tracing::warn!(error = %e, "could not refresh an upload marker");
                        }
                    }
                }
            });
            self.multipart = Some(Multipart {
                id,
                parts: Vec::new(),
                in_flight: None,
                heartbeat,
            });
        }
        let multipart = self.multipart.as_mut().expect("started above");
        if let Some(previous) = multipart.in_flight.take() {
            multipart.parts.push(joined(previous).await?);
        }
        let index = multipart.parts.len();
        let client = self.store.client.clone();
        let id = multipart.id.clone();
        multipart.in_flight = Some(tokio::spawn(async move {
            client.put_part(&path, &id, index, part.into()).await
        }));
        Ok(())
    }

    /// Make the object visible under its key: one PUT, or the last part and the completion.
    pub async fn commit(mut self) -> std::io::Result<(u64, S3Committed)> {
        let path = self.store.path(&self.key);
        let rest = Bytes::from(std::mem::take(&mut self.buffer));
        if self.multipart.is_none() {
            self.store
                .client
                .put(&path, rest.into())
                .await
                .map_err(io_error)?;
            return Ok((self.size, S3Committed { _marker: None }));
        }
        if !rest.is_empty() {
            self.send_part(rest).await?;
        }
        let multipart = self.multipart.as_mut().expect("checked above");
        if let Some(last) = multipart.in_flight.take() {
            multipart.parts.push(joined(last).await?);
        }
        let parts = std::mem::take(&mut multipart.parts);
        self.store
            .client
            .complete_multipart(&path, &multipart.id, parts)
            .await
            .map_err(io_error)?;
        let multipart = self.multipart.take().expect("checked above");
        let marker = Marker {
            store: self.store.clone(),
            key: self.key.clone(),
            heartbeat: multipart.heartbeat,
        };
        Ok((
            self.size,
            S3Committed {
                _marker: Some(marker),
            },
        ))
    }
}

async fn joined(part: JoinHandle<object_store::Result<PartId>>) -> std::io::Result<PartId> {
    part.await.map_err(std::io::Error::other)?.map_err(io_error)
}

impl Drop for S3Upload {
    fn drop(&mut self) {
        let Some(multipart) = self.multipart.take() else {
            return;
        };
        multipart.heartbeat.abort();
        if let Some(part) = &multipart.in_flight {
            part.abort();
        }
        let store = self.store.clone();
        let key = std::mem::take(&mut self.key);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let path = store.path(&key);
                if let Err(e) = store.client.abort_multipart(&path, &multipart.id).await {
                    tracing::warn!(key, error = %e, "could not abort a failed upload; the sweep will");
                    return;
                }
                let _ = store.remove(&marker_key(&key)).await;
            });
        }
    }
}

/// A completed multipart object whose marker stays fresh until the caller has recorded it.
pub struct S3Committed {
    _marker: Option<Marker>,
}

struct Marker {
    store: S3Store,
    key: String,
    heartbeat: JoinHandle<()>,
}

impl Drop for Marker {
    fn drop(&mut self) {
        self.heartbeat.abort();
        let store = self.store.clone();
        let key = marker_key(&self.key);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = store.remove(&key).await;
            });
        }
    }
}

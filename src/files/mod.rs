//! The file store: analysis files, on a local directory or an S3-compatible object store
//! (`--storage`), plus local scratch objects for imports.
//!
//! Keys are `/`-separated paths built only from sanitized parts (`analyses/<id>/<name_on_disk>`).
//! An upload becomes visible under its key only when complete (a local rename, or the PUT or
//! multipart completion on the store), so a failed upload never leaves a half-written object.

pub mod local;
pub mod names;
pub mod s3;

use std::path::Path;

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

pub use local::TempObject;

use crate::config::{S3Options, StorageTarget};

#[derive(Debug, Clone)]
pub struct FileStore {
    objects: Objects,
    /// Scratch space for files read whole (imports) and the write probe: always local.
    scratch: local::LocalStore,
}

#[derive(Debug, Clone)]
enum Objects {
    Local(local::LocalStore),
    S3(s3::S3Store),
}

/// The storage key of an analysis file (contract §13).
pub fn analysis_file_key(analysis_id: &str, name_on_disk: &str) -> String {
    format!("analyses/{analysis_id}/{name_on_disk}")
}

/// The storage key of an upload (workflows §2.1).
pub fn upload_key(name_on_disk: &str) -> String {
    format!("uploads/{name_on_disk}")
}

/// The storage key of a sample's reads file (`reads_1.fq.gz`, `reads_2.fq.gz`; workflows J15).
pub fn sample_reads_key(sample_id: &str, reads_file: &str) -> String {
    format!("samples/{sample_id}/{reads_file}")
}

/// The storage key of an index file (workflows §5.2).
pub fn index_file_key(index_id: &str, name: &str) -> String {
    format!("indexes/{index_id}/{name}")
}

/// The storage key of a subtraction file (workflows J24).
pub fn subtraction_file_key(subtraction_id: &str, name: &str) -> String {
    format!("subtractions/{subtraction_id}/{name}")
}

/// The storage key of the imported HMM profiles (workflows U36).
pub const HMM_PROFILES_KEY: &str = "hmm/profiles.hmm";

fn analysis_folder(analysis_id: &str) -> String {
    format!("analyses/{analysis_id}")
}

/// Where bytes of an upload go: a local temporary object or an upload to the store.
pub trait Sink {
    fn size(&self) -> u64;
    fn write(
        &mut self,
        bytes: &[u8],
    ) -> impl std::future::Future<Output = std::io::Result<()>> + Send;
}

impl Sink for TempObject {
    fn size(&self) -> u64 {
        TempObject::size(self)
    }

    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        TempObject::write(self, bytes).await
    }
}

/// An upload of an analysis file to its key, visible there only after `commit`.
pub struct Upload {
    key: String,
    target: UploadTarget,
}

/// Each kind carries its store, so the upload commits where it was begun.
enum UploadTarget {
    Local(local::LocalStore, TempObject),
    S3(s3::S3Upload),
}

impl Sink for Upload {
    fn size(&self) -> u64 {
        match &self.target {
            UploadTarget::Local(_, temp) => temp.size(),
            UploadTarget::S3(upload) => upload.size(),
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match &mut self.target {
            UploadTarget::Local(_, temp) => temp.write(bytes).await,
            UploadTarget::S3(upload) => upload.write(bytes).await,
        }
    }
}

/// A committed object: until dropped, no sweep takes it for an orphan (the caller records it
/// meanwhile).
pub struct Committed {
    pub size: u64,
    _claim: CommittedClaim,
}

enum CommittedClaim {
    Lock(#[allow(dead_code)] Option<std::fs::File>),
    Marker(#[allow(dead_code)] s3::S3Committed),
}

/// A stored object opened for reading.
pub struct Stored {
    pub size: u64,
    source: StoredSource,
}

enum StoredSource {
    Local(tokio::fs::File),
    S3(s3::S3Store, String),
}

impl Stored {
    /// `length` bytes from `start`, streamed in chunks of at most 1 MiB (local) or as the store
    /// sends them.
    pub async fn stream(
        self,
        start: u64,
        length: u64,
    ) -> std::io::Result<BoxStream<'static, std::io::Result<Bytes>>> {
        match self.source {
            StoredSource::Local(mut file) => {
                if start > 0 {
                    file.seek(std::io::SeekFrom::Start(start)).await?;
                }
                Ok(tokio_util::io::ReaderStream::with_capacity(file.take(length), 1 << 20).boxed())
            }
            StoredSource::S3(store, key) => store.read(&key, start, length).await,
        }
    }
}

/// Permission to remove an object the sweep found without a record.
pub struct Claim(#[allow(dead_code)] Option<std::fs::File>);

impl FileStore {
    /// The store `--storage` names (default: `<data-path>` itself), with scratch under
    /// `<data-path>/tmp`.
    pub async fn open(
        data_path: &Path,
        target: &StorageTarget,
        options: &S3Options,
    ) -> anyhow::Result<FileStore> {
        let scratch = local::LocalStore::open(data_path).await?;
        let objects = match target {
            StorageTarget::DataPath => Objects::Local(scratch.clone()),
            StorageTarget::Local(root) => Objects::Local(local::LocalStore::open(root).await?),
            StorageTarget::S3(url) => Objects::S3(s3::S3Store::open(url, options).await?),
        };
        Ok(FileStore { objects, scratch })
    }

    /// Local storage at `root` (objects and scratch alike).
    pub async fn local(root: &Path) -> std::io::Result<FileStore> {
        let store = local::LocalStore::open(root).await?;
        Ok(FileStore {
            objects: Objects::Local(store.clone()),
            scratch: store,
        })
    }

    /// What the readiness report names: `local` or `s3`.
    pub fn kind(&self) -> &'static str {
        match self.objects {
            Objects::Local(_) => "local",
            Objects::S3(_) => "s3",
        }
    }

    /// Bytes free on the data path (the scratch space; the database file on SQLite).
    pub async fn free_bytes(&self) -> std::io::Result<u64> {
        self.scratch.free_bytes().await
    }

    /// A local temporary object for a file read whole (imports), removed on drop.
    pub async fn create_scratch(&self) -> std::io::Result<TempObject> {
        self.scratch.create_temp().await
    }

    /// Write, sync and remove one small object where uploads go.
    pub async fn probe_write(&self) -> std::io::Result<()> {
        match &self.objects {
            Objects::Local(store) => {
                let mut temp = store.create_temp().await?;
                temp.write(b"ready").await?;
                temp.finish().await.map(drop)
            }
            Objects::S3(store) => store.probe_write().await,
        }
    }

    /// Begin an upload to `key`.
    pub async fn create_upload(&self, key: &str) -> std::io::Result<Upload> {
        let target = match &self.objects {
            Objects::Local(store) => UploadTarget::Local(store.clone(), store.create_temp().await?),
            Objects::S3(store) => UploadTarget::S3(store.create_upload(key)),
        };
        Ok(Upload {
            key: key.to_owned(),
            target,
        })
    }

    /// Make a finished upload visible under its key.
    pub async fn commit(&self, upload: Upload) -> std::io::Result<Committed> {
        match upload.target {
            UploadTarget::Local(store, temp) => {
                let (size, lock) = store.commit(temp, &upload.key).await?;
                Ok(Committed {
                    size,
                    _claim: CommittedClaim::Lock(lock),
                })
            }
            UploadTarget::S3(upload) => {
                let (size, marker) = upload.commit().await?;
                Ok(Committed {
                    size,
                    _claim: CommittedClaim::Marker(marker),
                })
            }
        }
    }

    /// Open a stored object; `None` when it does not exist.
    pub async fn open_object(&self, key: &str) -> std::io::Result<Option<Stored>> {
        Ok(match &self.objects {
            Objects::Local(store) => store.open_file(key).await?.map(|(file, size)| Stored {
                size,
                source: StoredSource::Local(file),
            }),
            Objects::S3(store) => store.size(key).await?.map(|size| Stored {
                size,
                source: StoredSource::S3(store.clone(), key.to_owned()),
            }),
        })
    }

    /// Remove one object (absent is fine).
    pub async fn remove(&self, key: &str) -> std::io::Result<()> {
        match &self.objects {
            Objects::Local(store) => store.remove(key).await,
            Objects::S3(store) => store.remove(key).await,
        }
    }

    /// Remove every object of an analysis.
    pub async fn remove_analysis(&self, analysis_id: &str) -> std::io::Result<()> {
        let folder = analysis_folder(analysis_id);
        match &self.objects {
            Objects::Local(store) => store.remove_folder(&folder).await,
            Objects::S3(store) => store.remove_folder(&format!("{folder}/")).await,
        }
    }

    /// Remove an analysis's folder when it is empty: after an upload that lost to a delete of the
    /// analysis, so that nothing is left behind (§12). A store has no folders.
    pub async fn prune_analysis(&self, analysis_id: &str) {
        if let Objects::Local(store) = &self.objects {
            store.prune_folder(&analysis_folder(analysis_id)).await;
        }
    }

    /// Remove temporary objects whose writer is gone; returns how many.
    pub async fn clean_temp(&self) -> std::io::Result<usize> {
        let mut removed = self.scratch.clean_temp().await?;
        match &self.objects {
            Objects::Local(store) if store.root() != self.scratch.root() => {
                removed += store.clean_temp().await?;
            }
            Objects::Local(_) => {}
            Objects::S3(store) => removed += store.clean_temp().await?,
        }
        Ok(removed)
    }

    /// The owner folders under `folder` (`analyses`, `samples`, …) and the names of the objects
    /// in each (on a store: only objects older than `--stale-upload-secs`).
    pub async fn owned_objects(&self, folder: &str) -> std::io::Result<Vec<(String, Vec<String>)>> {
        match &self.objects {
            Objects::Local(store) => store.owned_objects(folder).await,
            Objects::S3(store) => store.owned_objects(folder).await,
        }
    }

    /// The names of the upload objects (`uploads/<name_on_disk>`; on a store: only objects older
    /// than `--stale-upload-secs`).
    pub async fn upload_objects(&self) -> std::io::Result<Vec<String>> {
        match &self.objects {
            Objects::Local(store) => store.upload_objects().await,
            Objects::S3(store) => store.upload_objects().await,
        }
    }

    /// Remove an owner's folder if it is empty (local only: a store has no folders).
    pub async fn prune_owner(&self, folder: &str, owner_id: &str) {
        if let Objects::Local(store) = &self.objects {
            store.prune_folder(&format!("{folder}/{owner_id}")).await;
        }
    }

    /// Claim an object for the orphan check if no live upload holds it; `None` when one does (or
    /// it is gone). Hold the claim while deciding.
    pub async fn try_claim(&self, key: &str) -> std::io::Result<Option<Claim>> {
        match &self.objects {
            Objects::Local(store) => Ok(store.try_lock(key).await?.map(|lock| Claim(Some(lock)))),
            Objects::S3(store) => Ok(store.claimable(key).await?.then_some(Claim(None))),
        }
    }
}

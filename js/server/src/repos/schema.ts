/**
 * Schema version 2 of the hub database: model, dataset and space repositories (`store.ts` runs it as a
 * migration, so a data directory of version 1 keeps its buckets and CAS and gains empty repositories).
 *
 * History is linear per repository (one branch, `main`): commit k has sequence number k, and a file
 * version is a row valid from the commit that wrote it (`added`) until the one that replaced or deleted
 * it (`removed`, NULL while current). The tree at commit s is the rows with added ≤ s < removed, so a
 * commit writes only the paths it changes and every earlier revision stays readable.
 */
export const REPOS_SCHEMA = `
  CREATE TABLE repos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,           -- never reused: CAS tokens name repositories by id
    type TEXT NOT NULL,                             -- model | dataset | space
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    private INTEGER NOT NULL,
    sdk TEXT,                                       -- spaces
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    head_seq INTEGER NOT NULL DEFAULT 0,            -- sequence number of main's last commit
    UNIQUE (type, namespace, name)
  );
  CREATE TABLE repo_commits (
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,                           -- 1, 2, ... along main
    oid TEXT NOT NULL,                              -- 40 hex digits
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (repo_id, seq)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX repo_commits_by_oid ON repo_commits (repo_id, oid);
  CREATE TABLE repo_files (
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    added INTEGER NOT NULL,                         -- seq of the commit that wrote this version
    removed INTEGER,                                -- seq of the commit that replaced or deleted it
    size INTEGER NOT NULL,
    oid TEXT NOT NULL,                              -- git blob id of the content, or of the LFS pointer
    sha256 TEXT,                                    -- LFS files: the pointer's oid
    xet_hash TEXT,                                  -- LFS files: the Xet file holding the bytes
    PRIMARY KEY (repo_id, path, added)
  ) WITHOUT ROWID;
  CREATE INDEX repo_files_by_xet ON repo_files (repo_id, xet_hash) WHERE xet_hash IS NOT NULL;
  CREATE TABLE repo_blobs (                         -- contents of regular (non-LFS) files, by git blob id
    oid TEXT PRIMARY KEY,
    content BLOB NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE repo_lfs_objects (                   -- LFS objects a repository may commit: sha256 -> Xet file
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    xet_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (repo_id, sha256)
  ) WITHOUT ROWID;
  CREATE TABLE cas_file_repos (                     -- repositories whose write token registered the file
    file_hash TEXT NOT NULL,
    repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
    PRIMARY KEY (file_hash, repo_id)
  ) WITHOUT ROWID;
  CREATE INDEX cas_file_repos_by_repo ON cas_file_repos (repo_id);
  ALTER TABLE shards ADD COLUMN repo_id INTEGER;
`;

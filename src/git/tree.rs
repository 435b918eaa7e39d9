//! The records directory's tree, diffed from one commit to the next without
//! libgit2's tree parser.
//!
//! `exceptions/` is one flat tree with an entry per record, and every commit
//! that touches a record writes a new one. So the history walk compares two
//! trees of 10,000 entries or more per commit, of which one or a few differ.
//! Each tree keeps where its entries start; the next diff skips the equal
//! bytes at both ends (a memory compare), merge-walks only the entries between,
//! and works out where the new tree's entries start from the old tree's.
//!
//! Trees are read through one `git cat-file --batch` child where git is
//! installed: git keeps a delta-base cache (96 MB) that holds a 100,000-entry
//! tree, while libgit2 caches no delta base over 1 MB and so inflates each
//! tree's whole delta chain again, which made the audit at 100,000 records
//! spend most of its time copying bytes. Without git, libgit2 reads them.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use git2::{Odb, OdbObject, Oid, Repository};

use super::is_record;

/// What one commit did to one record file (a tree diff gives them with
/// `commit` 0; the history walk numbers them).
#[derive(Clone, Debug)]
pub struct FileChange {
    /// Index into `History::commits`.
    pub commit: usize,
    /// The file name before the change (`None` when added).
    pub old_name: Option<String>,
    /// The file name after the change (`None` when deleted).
    pub new_name: Option<String>,
    pub old_blob: Option<Oid>,
    pub new_blob: Option<Oid>,
    /// The new version is a symbolic link.
    pub link: bool,
}

/// The largest object libgit2 keeps in its delta-base cache.
const LARGE: usize = 1024 * 1024;

/// Reads raw tree objects: large ones through `git cat-file --batch`, the
/// rest (and all of them without git) through libgit2.
pub struct Reader<'repo> {
    repo: &'repo Repository,
    odb: Odb<'repo>,
    /// Started at the first large tree (`None` inside once it failed).
    batch: std::cell::OnceCell<std::cell::RefCell<Option<Batch>>>,
}

/// The `git cat-file --batch` child.
struct Batch {
    child: Child,
    input: BufWriter<ChildStdin>,
    output: BufReader<ChildStdout>,
}

impl Drop for Batch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Batch {
    fn start(repo: &Repository) -> Option<Batch> {
        let mut child = Command::new("git")
            .arg("--git-dir")
            .arg(repo.path())
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let input = BufWriter::new(child.stdin.take()?);
        let output = BufReader::new(child.stdout.take()?);
        Some(Batch { child, input, output })
    }

    /// The raw tree `id`: its header says `<id> tree <size>`, then the bytes.
    fn read(&mut self, id: Oid) -> Option<Vec<u8>> {
        writeln!(self.input, "{id}").ok()?;
        self.input.flush().ok()?;
        let mut header = String::new();
        self.output.read_line(&mut header).ok()?;
        let mut words = header.split_whitespace();
        if words.next()? != id.to_string() || words.next()? != "tree" {
            return None;
        }
        let size: usize = words.next()?.parse().ok()?;
        let mut data = vec![0; size + 1];
        self.output.read_exact(&mut data).ok()?;
        (data.pop() == Some(b'\n')).then_some(data)
    }
}

/// A raw tree object's bytes: as libgit2 holds them (no copy), or as git sent them.
pub enum Raw<'repo> {
    Odb(OdbObject<'repo>),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Raw<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Raw::Odb(o) => o.data(),
            Raw::Owned(v) => v,
        }
    }
}

impl<'repo> Reader<'repo> {
    pub fn new(repo: &'repo Repository) -> Result<Reader<'repo>, git2::Error> {
        Ok(Reader { odb: repo.odb()?, batch: std::cell::OnceCell::new(), repo })
    }

    /// The raw tree `id`. git is asked first; if it fails once (missing,
    /// refusing the repository, not a tree), libgit2 answers from then on,
    /// and its error is the one reported.
    pub fn read(&self, id: Oid) -> Result<Raw<'_>, git2::Error> {
        // Smaller trees come from libgit2's own delta-base cache, without a pipe.
        if self.odb.read_header(id).is_ok_and(|(size, _)| size > LARGE) {
            let mut batch = self.batch.get_or_init(|| Batch::start(self.repo).into()).borrow_mut();
            if let Some(b) = batch.as_mut() {
                match b.read(id) {
                    Some(data) => return Ok(Raw::Owned(data)),
                    None => *batch = None,
                }
            }
        }
        Ok(Raw::Odb(self.odb.read(id)?))
    }
}

/// The record files of raw tree `data`: name, blob id, whether a symbolic
/// link. `None` when the tree is malformed.
pub fn records(data: &[u8]) -> Option<Vec<(String, Oid, bool)>> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(e) = entry(data, at)? {
        at += e.bytes.len();
        if let Ok(name) = std::str::from_utf8(e.name)
            && e.is_file
            && is_record(name)
        {
            out.push((name.to_string(), Oid::from_bytes(e.id).ok()?, e.is_link));
        }
    }
    Some(out)
}

/// A raw tree object and where each of its entries starts.
pub struct Indexed<'repo> {
    pub id: Oid,
    data: Raw<'repo>,
    starts: Vec<usize>,
}

impl<'repo> Indexed<'repo> {
    /// Indexes a raw tree; `None` if it is malformed.
    pub fn new(id: Oid, data: Raw<'repo>) -> Option<Indexed<'repo>> {
        let starts = index(&data)?;
        Some(Indexed { id, data, starts })
    }

    fn data(&self) -> &[u8] {
        &self.data
    }

    /// Where entry `i` ends (where the next starts).
    fn end(&self, i: usize) -> usize {
        self.starts.get(i + 1).copied().unwrap_or(self.data().len())
    }
}

/// The record files that differ from `old` to `new` (either may be absent), and
/// `new` indexed for the next commit. `None` when a tree is malformed.
pub fn delta<'repo>(
    old: Option<&Indexed<'repo>>,
    new: Option<(Oid, Raw<'repo>)>,
) -> Option<(Vec<FileChange>, Option<Indexed<'repo>>)> {
    let Some((id, object)) = new else {
        // The directory is gone: every record in `old` was removed.
        let gone = match old {
            Some(old) => scan(old.data(), &[])?.0,
            None => Vec::new(),
        };
        return Some((gone, None));
    };
    let (changes, starts) = match old {
        Some(old) => between(old, &object).or_else(|| scan(old.data(), &object))?,
        None => scan(&[], &object)?,
    };
    Some((changes, Some(Indexed { id, data: object, starts })))
}

/// The shortcut: equal bytes at both ends are equal entries. `None` when the
/// middle does not line up with entry boundaries (then the caller scans all).
fn between(old: &Indexed, new: &[u8]) -> Option<(Vec<FileChange>, Vec<usize>)> {
    let data = old.data();
    let prefix = common_prefix(data, new);
    // Entries wholly inside the equal prefix are the same in both trees, and
    // reading `new` from its start passes the same boundaries.
    let mut first = old.starts.partition_point(|&s| s <= prefix).saturating_sub(1);
    if first < old.starts.len() && old.end(first) <= prefix {
        first += 1; // all of `old` is an equal prefix of `new`
    }
    let from = old.starts.get(first).copied().unwrap_or(data.len());
    let suffix = common_suffix(&data[from..], &new[from.min(new.len())..]);
    // Old entries that start inside the equal suffix are unchanged too; in `new`
    // they sit `shift` bytes later (or earlier).
    let last = first + old.starts[first..].partition_point(|&s| s < data.len() - suffix);
    let old_to = old.starts.get(last).copied().unwrap_or(data.len());
    let new_to = (old_to + new.len()).checked_sub(data.len())?;
    if new_to < from {
        return None;
    }
    let (changes, middle) = scan(&data[from..old_to], &new[from..new_to])?;
    let mut starts = Vec::with_capacity(first + middle.len() + old.starts.len() - last);
    starts.extend_from_slice(&old.starts[..first]);
    starts.extend(middle.iter().map(|s| s + from));
    starts.extend(old.starts[last..].iter().map(|s| s + new_to - old_to));
    Some((changes, starts))
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    // Compare in blocks (a memcmp each), then bytes within the first unequal block.
    const BLOCK: usize = 256;
    let n = a.len().min(b.len());
    let mut at = 0;
    while at + BLOCK <= n && a[at..at + BLOCK] == b[at..at + BLOCK] {
        at += BLOCK;
    }
    at + a[at..n].iter().zip(&b[at..n]).take_while(|(x, y)| x == y).count()
}

fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 256;
    let n = a.len().min(b.len());
    let (ea, eb) = (a.len(), b.len());
    let mut len = 0;
    while len + BLOCK <= n && a[ea - len - BLOCK..ea - len] == b[eb - len - BLOCK..eb - len] {
        len += BLOCK;
    }
    len + a[..ea - len].iter().rev().zip(b[..eb - len].iter().rev()).take_while(|(x, y)| x == y).count()
}

/// One entry of a raw tree object: `<mode> <name>\0<20-byte id>`.
struct Entry<'a> {
    /// The whole entry, to compare with its counterpart in one go.
    bytes: &'a [u8],
    name: &'a [u8],
    is_file: bool,
    /// A symbolic link (mode 120000).
    is_link: bool,
    id: &'a [u8],
}

/// The entry of raw tree `data` that starts at `at`: `Some(None)` at the end,
/// `None` when the tree is malformed.
fn entry(data: &[u8], at: usize) -> Option<Option<Entry<'_>>> {
    let rest = data.get(at..)?;
    if rest.is_empty() {
        return Some(None);
    }
    let space = rest.iter().take(8).position(|&b| b == b' ')?;
    let nul = space + 1 + rest[space + 1..].iter().position(|&b| b == 0)?;
    let bytes = rest.get(..nul + 1 + 20)?;
    let mode = &rest[..space];
    Some(Some(Entry {
        bytes,
        name: &rest[space + 1..nul],
        // Blobs: regular and executable files and symbolic links; not trees
        // (40000) or submodules (160000).
        is_file: mode != b"40000" && mode != b"160000",
        is_link: mode == b"120000",
        id: &bytes[nul + 1..],
    }))
}

/// Where each entry of raw tree `data` starts; `None` when it is malformed.
fn index(data: &[u8]) -> Option<Vec<usize>> {
    let mut starts = Vec::new();
    let mut at = 0;
    while let Some(e) = entry(data, at)? {
        starts.push(at);
        at += e.bytes.len();
    }
    Some(starts)
}

/// The record files that differ between two runs of raw tree entries (one merge
/// walk in git's order; entries equal byte for byte are skipped whole), and
/// where each entry of `new` starts. `None` when either is malformed.
fn scan(old: &[u8], new: &[u8]) -> Option<(Vec<FileChange>, Vec<usize>)> {
    use std::cmp::Ordering;
    // Git sorts a subtree as if its name ended in '/'.
    fn key<'e>(e: &Entry<'e>) -> impl Iterator<Item = u8> + 'e {
        e.name.iter().chain(if e.is_file { &b""[..] } else { &b"/"[..] }).copied()
    }
    let name = |e: &Entry| String::from_utf8_lossy(e.name).into_owned();
    let id = |e: &Entry| Oid::from_bytes(e.id).ok();
    let change = |o: Option<&Entry>, n: Option<&Entry>| FileChange {
        commit: 0,
        old_name: o.map(name),
        new_name: n.map(name),
        old_blob: o.and_then(id),
        new_blob: n.and_then(id),
        link: n.is_some_and(|e| e.is_link),
    };
    let wanted = |e: &Entry| e.is_file && std::str::from_utf8(e.name).is_ok_and(is_record);
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    let mut starts = Vec::new();
    loop {
        let a = entry(old, i)?;
        if let Some(a) = &a
            && new.get(j..j + a.bytes.len()) == Some(a.bytes)
        {
            // The same mode, name and id: nothing changed here.
            starts.push(j);
            i += a.bytes.len();
            j += a.bytes.len();
            continue;
        }
        let b = entry(new, j)?;
        let ord = match (&a, &b) {
            (Some(a), Some(b)) => key(a).cmp(key(b)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => break,
        };
        match (ord, a, b) {
            (Ordering::Less, Some(a), _) => {
                if wanted(&a) {
                    out.push(change(Some(&a), None));
                }
                i += a.bytes.len();
            }
            (Ordering::Equal, Some(a), Some(b)) => {
                if a.id != b.id && wanted(&b) {
                    out.push(change(Some(&a), Some(&b)));
                }
                starts.push(j);
                i += a.bytes.len();
                j += b.bytes.len();
            }
            (_, _, Some(b)) => {
                if wanted(&b) {
                    out.push(change(None, Some(&b)));
                }
                starts.push(j);
                j += b.bytes.len();
            }
            _ => return None,
        }
    }
    Some((out, starts))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A raw tree object from (mode, name, id byte) entries, in the order given.
    fn tree(entries: &[(&str, &str, u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (mode, name, id) in entries {
            out.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            out.extend_from_slice(&[*id; 20]);
        }
        out
    }

    fn summary(changes: &[FileChange]) -> Vec<String> {
        changes
            .iter()
            .map(|c| format!("{}>{}", c.old_name.as_deref().unwrap_or("-"), c.new_name.as_deref().unwrap_or("-")))
            .collect()
    }

    #[test]
    fn scan_finds_added_changed_and_removed_records_in_git_order() {
        // Git's order puts the directory `a` (as `a/`) after the file `a.yaml`.
        let old = tree(&[("100644", "a.yaml", 1), ("40000", "a", 2), ("100644", "b.yaml", 3), ("100644", "c.yaml", 4)]);
        let new = tree(&[
            ("100644", "a.yaml", 1),
            ("40000", "a", 9),
            ("100644", "b.yaml", 5),
            ("100644", "bb.yaml", 6),
            ("100644", "notes.txt", 7),
        ]);
        let (changes, starts) = scan(&old, &new).unwrap();
        assert_eq!(summary(&changes), ["b.yaml>b.yaml", "->bb.yaml", "c.yaml>-"]);
        assert_eq!(changes[0].new_blob, Oid::from_bytes(&[5; 20]).ok());
        assert_eq!(starts.len(), 5);
        assert_eq!(summary(&scan(&[], &old).unwrap().0), ["->a.yaml", "->b.yaml", "->c.yaml"]);
        assert!(scan(&new, &new).unwrap().0.is_empty());
    }

    #[test]
    fn a_malformed_tree_is_refused() {
        let good = tree(&[("100644", "a.yaml", 1)]);
        assert!(scan(&good, &good[..good.len() - 1]).is_none());
        assert!(scan(b"100644 a.yaml", &good).is_none());
        assert!(scan(b"no-space-in-the-first-eight-bytes\0", &[]).is_none());
    }

    /// The shortcut agrees with a full scan, and indexes the new tree the same way.
    #[test]
    fn the_shortcut_agrees_with_a_full_scan() {
        let names: Vec<String> = (0..200).map(|i| format!("EXC-{i:04}.yaml")).collect();
        let base: Vec<(&str, &str, u8)> = names.iter().map(|n| ("100644", n.as_str(), 1)).collect();
        let mut edits: Vec<Vec<(&str, &str, u8)>> = Vec::new();
        for at in [0, 1, 57, 198, 199] {
            let mut changed = base.clone();
            changed[at].2 = 2; // a record edited
            edits.push(changed);
            let mut removed = base.clone();
            removed.remove(at); // a record gone
            edits.push(removed);
        }
        let mut added = base.clone();
        added.insert(100, ("100644", "EXC-0099a.yaml", 3));
        edits.push(added);
        let mut renamed = base.clone();
        renamed[42].1 = "EXC-0042b.yaml";
        edits.push(renamed);
        // The same id bytes as the neighbours: equal bytes that straddle entries.
        let mut same_bytes = base.clone();
        same_bytes.truncate(150);
        edits.push(same_bytes);
        edits.push(Vec::new());

        let old_raw = tree(&base);
        let (_, old_starts) = scan(&[], &old_raw).unwrap();
        let old = Indexed { id: Oid::ZERO_SHA1, data: Raw::Owned(old_raw.clone()), starts: old_starts };
        for edit in edits {
            let new_raw = tree(&edit);
            let expected = scan(&old_raw, &new_raw).unwrap();
            let got = between(&old, &new_raw).expect("the shortcut lines up");
            assert_eq!(summary(&got.0), summary(&expected.0), "{edit:?}");
            assert_eq!(got.1, expected.1, "{edit:?}");
        }
    }

    /// A tree over 1 MB is read through git, and a small one through
    /// libgit2; both give the object's bytes as stored, and the records in it.
    #[test]
    fn large_trees_come_through_git_and_small_ones_through_libgit2() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let odb = repo.odb().unwrap();
        let names: Vec<String> = (0..30_000).map(|i| format!("EXC-{i:06}.yaml")).collect();
        let mut entries: Vec<(&str, &str, u8)> = names.iter().map(|n| ("100644", n.as_str(), 7)).collect();
        entries.sort_by(|a, b| a.1.cmp(b.1));
        let large = tree(&entries);
        let small = tree(&entries[..10]);
        assert!(large.len() > LARGE && small.len() < LARGE);
        let large_id = odb.write(git2::ObjectType::Tree, &large).unwrap();
        let small_id = odb.write(git2::ObjectType::Tree, &small).unwrap();
        let reader = Reader::new(&repo).unwrap();
        assert_eq!(&*reader.read(small_id).unwrap(), &small[..]);
        assert!(reader.batch.get().is_none(), "no git for a small tree");
        assert_eq!(&*reader.read(large_id).unwrap(), &large[..]);
        assert!(reader.batch.get().is_some_and(|b| b.borrow().is_some()), "git read the large tree");
        assert_eq!(&*reader.read(large_id).unwrap(), &large[..], "and again");
        assert_eq!(records(&large).unwrap().len(), 30_000);
        assert!(reader.read(Oid::from_bytes(&[9; 20]).unwrap()).is_err(), "a missing tree is libgit2's error");
    }
}

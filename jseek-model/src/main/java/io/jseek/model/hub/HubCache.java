package io.jseek.model.hub;

import io.jseek.core.JseekException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The Hugging Face cache layout, shared with Hugging Face's own tools: per repository a folder
 * {@code models--OWNER--REPO} with {@code blobs/ETAG} (file contents, named by their LFS sha256 or git blob
 * id), {@code snapshots/COMMIT/PATH} (links to the blobs) and {@code refs/REVISION} (the commit a branch
 * pointed at when last fetched). A download in progress is {@code blobs/ETAG.incomplete}, under the lock
 * {@code .locks/models--OWNER--REPO/ETAG.lock}; only a complete, verified file becomes a blob, so nothing in
 * {@code blobs} or {@code snapshots} is ever partial.
 */
public final class HubCache {
    private final Path root;

    public HubCache(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    public Path repoDir(String repo) {
        return root.resolve("models--" + repo.replace("/", "--"));
    }

    public Path blob(String repo, String etag) {
        return repoDir(repo).resolve("blobs").resolve(etag);
    }

    /** The lock file of a blob's download, where Hugging Face's tools keep theirs ({@code .locks/models--…/ETAG.lock}). */
    public Path lock(String repo, String etag) {
        return root.resolve(".locks").resolve(repoDir(repo).getFileName()).resolve(etag + ".lock");
    }

    public Path snapshot(String repo, String commit) {
        return repoDir(repo).resolve("snapshots").resolve(commit);
    }

    /** The commit {@code revision} resolved to when last fetched (a commit hash resolves to itself), or null. */
    public String commitOf(String repo, String revision) {
        Path ref = repoDir(repo).resolve("refs").resolve(revision);
        try {
            if (Files.isRegularFile(ref)) {
                return Files.readString(ref).strip();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return revision.matches("[0-9a-f]{40}") && Files.isDirectory(snapshot(repo, revision)) ? revision : null;
    }

    public void writeRef(String repo, String revision, String commit) throws IOException {
        if (revision.equals(commit)) {
            return;
        }
        Path ref = repoDir(repo).resolve("refs").resolve(revision);
        Files.createDirectories(ref.getParent());
        Path tmp = ref.resolveSibling(ref.getFileName() + ".tmp" + ProcessHandle.current().pid() + "-" + Thread.currentThread().threadId());
        Files.writeString(tmp, commit);
        Files.move(tmp, ref, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Makes {@code snapshots/COMMIT/PATH} point at the blob: a relative symbolic link as Hugging Face's tools
     * make, or where the file system has none a hard link, or a copy.
     */
    public void link(Path snapshotFile, Path blob) throws IOException {
        Files.createDirectories(snapshotFile.getParent());
        // Made under a temporary name and renamed over the final one: a reader never sees it missing.
        Path tmp = snapshotFile.resolveSibling(snapshotFile.getFileName() + ".tmp" + ProcessHandle.current().pid() + "-"
                + Thread.currentThread().threadId());
        Files.deleteIfExists(tmp);
        try {
            Files.createSymbolicLink(tmp, snapshotFile.getParent().relativize(blob));
        } catch (UnsupportedOperationException | FileSystemException e) {
            try {
                Files.createLink(tmp, blob);
            } catch (UnsupportedOperationException | FileSystemException e2) {
                Files.copy(blob, tmp);
            }
        }
        Files.move(tmp, snapshotFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** One cached repository: its snapshots' files and the bytes its blobs take. */
    public record Entry(String repo, List<String> revisions, List<String> files, long bytes) {
    }

    /** Every repository in the cache. */
    public List<Entry> list() {
        List<Entry> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path dir : dirs.sorted().toList()) {
                String name = dir.getFileName().toString();
                if (!name.startsWith("models--") || !Files.isDirectory(dir)) {
                    continue;
                }
                String repo = name.substring("models--".length()).replaceFirst("--", "/");
                List<String> revisions = new ArrayList<>();
                Path refs = dir.resolve("refs");
                if (Files.isDirectory(refs)) {
                    try (Stream<Path> r = Files.list(refs)) {
                        r.map(p -> p.getFileName() + " " + read(p).substring(0, Math.min(8, read(p).length()))).sorted().forEach(revisions::add);
                    }
                }
                Set<String> files = new java.util.TreeSet<>();
                Path snaps = dir.resolve("snapshots");
                if (Files.isDirectory(snaps)) {
                    try (Stream<Path> w = Files.walk(snaps)) {
                        w.filter(p -> !Files.isDirectory(p)).forEach(p -> files.add(snaps.relativize(p).subpath(1, snaps.relativize(p).getNameCount()).toString()));
                    }
                }
                out.add(new Entry(repo, revisions, List.copyOf(files), size(dir.resolve("blobs"))));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /**
     * Removes a repository: all of it when {@code paths} is null, else those files from every snapshot and the
     * blobs no snapshot links to any more. Returns the bytes freed.
     */
    public long remove(String repo, List<String> paths) throws IOException {
        Path dir = repoDir(repo);
        if (!Files.isDirectory(dir)) {
            throw new JseekException(repo + " is not in the cache (" + root + ")");
        }
        long before = size(dir.resolve("blobs"));
        if (paths == null) {
            deleteTree(dir);
            Path locks = root.resolve(".locks").resolve(dir.getFileName());
            if (Files.isDirectory(locks)) {
                deleteTree(locks);
            }
            return before;
        }
        Path snaps = dir.resolve("snapshots");
        try (Stream<Path> s = Files.list(snaps)) {
            for (Path snap : s.toList()) {
                for (String p : paths) {
                    Files.deleteIfExists(snap.resolve(p));
                }
            }
        }
        Set<String> linked = new HashSet<>();
        try (Stream<Path> w = Files.walk(snaps)) {
            for (Path p : w.filter(Files::isSymbolicLink).toList()) {
                linked.add(p.getParent().resolve(Files.readSymbolicLink(p)).normalize().getFileName().toString());
            }
        }
        Path blobs = dir.resolve("blobs");
        try (Stream<Path> all = Files.list(blobs)) {
            for (Path blob : all.toList()) {
                String b = blob.getFileName().toString();
                if (!linked.contains(b) && !b.endsWith(".incomplete") && !b.endsWith(".chunks")) {
                    Files.delete(blob);
                }
            }
        }
        return before - size(blobs);
    }

    private static String read(Path p) {
        try {
            return Files.readString(p).strip();
        } catch (IOException e) {
            return "?";
        }
    }

    private static long size(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> w = Files.walk(dir)) {
            return w.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> w = Files.walk(dir)) {
            for (Path p : w.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}

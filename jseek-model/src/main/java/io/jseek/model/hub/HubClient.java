package io.jseek.model.hub;

import io.jseek.core.JseekException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Fetches models from the Hugging Face Hub into the shared cache ({@link HubCache}), as Hugging Face's own
 * tools do: the file list from {@code /api/models/REPO/revision/REV}, each file's id (LFS sha256 or git blob
 * id), size and download address from a HEAD of {@code /REPO/resolve/COMMIT/PATH} (whose redirect leads to
 * the storage host; the token is sent to the Hub only, never across the redirect), then the bytes: large
 * files in parallel ranges, any file resumed from what an earlier attempt left, every file checked against
 * its id before it enters the cache.
 */
public final class HubClient {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int MAX_REDIRECTS = 10;
    /** This process's side of the download locks (a file lock is held per process, not per thread). */
    private static final java.util.concurrent.ConcurrentHashMap<Path, java.util.concurrent.locks.ReentrantLock> DOWNLOADS =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** Progress of a pull, for a progress bar. All calls come from the pulling thread or the download threads. */
    public interface Progress {
        /** A file starts: {@code done} of its {@code total} bytes are already here (resumed). */
        default void start(String path, long done, long total) {
        }

        /** {@code n} more bytes of the current file arrived. */
        default void advance(long n) {
        }

        /** The file is complete, checked and in the cache ({@code cached}: it was there already). */
        default void finish(String path, boolean cached) {
        }

        /** A note (retrying, resuming, verifying). */
        default void note(String message) {
        }

        Progress NONE = new Progress() {
        };
    }

    private final HubSettings settings;
    private final HubCache cache;
    private final HttpClient http;

    public HubClient(HubSettings settings) {
        this.settings = settings;
        this.cache = new HubCache(settings.cache());
        this.http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(30))
                .build();
    }

    public HubCache cache() {
        return cache;
    }

    /**
     * A model argument as a local path: a Hub reference ({@link HubRef#isHubRef}) pulled with the environment's
     * settings first (or found in the cache), anything else as the path it names.
     */
    public static Path localPath(String model, Progress progress) {
        return HubRef.isHubRef(model)
                ? new HubClient(HubSettings.fromEnvironment(System.getenv())).pull(HubRef.parse(model), progress).path()
                : Path.of(model);
    }

    /** What a pull gave: the local path to open (a GGUF file or a model directory) and the files fetched. */
    public record Pulled(Path path, String commit, List<String> files) {
    }

    /**
     * Brings the files {@code ref} names into the cache (or, offline, finds them there) and returns the path a
     * model command opens.
     */
    public Pulled pull(HubRef ref, Progress progress) {
        try {
            if (settings.offline()) {
                return offline(ref);
            }
            Listing listing = listing(ref);
            FileSelection sel = FileSelection.select(ref.repo(), listing.paths(), ref.selector());
            Path snapshot = cache.snapshot(ref.repo(), listing.commit());
            for (String path : sel.files()) {
                fetch(ref.repo(), listing.commit(), path, progress);
            }
            cache.writeRef(ref.repo(), ref.revision(), listing.commit());
            return new Pulled(sel.target().isEmpty() ? snapshot : snapshot.resolve(sel.target()), listing.commit(), sel.files());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The files of {@code ref} as the cache holds them, without the network (HF_HUB_OFFLINE). */
    private Pulled offline(HubRef ref) throws IOException {
        String commit = cache.commitOf(ref.repo(), ref.revision());
        if (commit == null) {
            throw new JseekException(ref + " is not in the cache (" + cache.root() + ") and HF_HUB_OFFLINE is set: pull it online first");
        }
        Path snapshot = cache.snapshot(ref.repo(), commit);
        List<String> present;
        try (Stream<Path> w = Files.walk(snapshot)) {
            present = w.filter(p -> !Files.isDirectory(p)).map(p -> snapshot.relativize(p).toString().replace('\\', '/')).sorted().toList();
        }
        FileSelection sel = FileSelection.select(ref.repo(), present, ref.selector());
        return new Pulled(sel.target().isEmpty() ? snapshot : snapshot.resolve(sel.target()), commit, sel.files());
    }

    private record Listing(String commit, List<String> paths) {
    }

    private Listing listing(HubRef ref) throws IOException {
        URI uri = settings.endpoint().resolve("/api/models/" + ref.repo() + "/revision/" + encode(ref.revision()));
        HttpResponse<String> r = withRetries("list " + ref, () -> send(hubRequest(uri).GET().build(), HttpResponse.BodyHandlers.ofString()));
        check(r, ref.repo(), null, ref.revision());
        try {
            JsonNode info = JSON.readTree(r.body());
            String commit = info.path("sha").asString("");
            if (!commit.matches("[0-9a-f]{40}")) {
                throw new JseekException("the Hub's answer for " + ref.repo() + " has no commit id");
            }
            List<String> paths = new ArrayList<>();
            for (JsonNode s : info.path("siblings")) {
                paths.add(s.path("rfilename").asString());
            }
            return new Listing(commit, paths);
        } catch (JacksonException e) {
            throw new JseekException("the Hub's answer for " + ref.repo() + " is not JSON: " + e.getOriginalMessage());
        }
    }

    /** One file into the cache: found there, or its blob downloaded (resumed, in ranges, checked) and linked. */
    private void fetch(String repo, String commit, String path, Progress progress) throws IOException {
        Path link = cache.snapshot(repo, commit).resolve(path);
        if (Files.isRegularFile(link)) {
            progress.finish(path, true);
            return;
        }
        FileMeta meta = head(repo, commit, path);
        Path blob = cache.blob(repo, meta.etag());
        Path lockPath = cache.lock(repo, meta.etag());
        Files.createDirectories(lockPath.getParent());
        // One download of a blob at a time, across threads and processes (two pulls of the same model would
        // otherwise write the same partial file): the second waits here, then finds the blob done.
        java.util.concurrent.locks.ReentrantLock local = DOWNLOADS.computeIfAbsent(lockPath.toAbsolutePath(),
                k -> new java.util.concurrent.locks.ReentrantLock());
        local.lock();
        try (FileChannel lockFile = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             java.nio.channels.FileLock lock = lockFile.lock()) {
            if (!Files.isRegularFile(blob)) {
                download(path, meta, blob, progress);
            } else {
                progress.finish(path, true);
            }
            cache.link(link, blob);
        } finally {
            local.unlock();
        }
    }

    /** A file's id (LFS sha256 or git blob sha1), size and the address its bytes come from. */
    private record FileMeta(String etag, long size, URI url) {
    }

    private FileMeta head(String repo, String commit, String path) throws IOException {
        URI uri = settings.endpoint().resolve("/" + repo + "/resolve/" + commit + "/" + encodePath(path));
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            URI at = uri;
            HttpResponse<Void> r = withRetries("look up " + path, () -> send(hubRequest(at)
                    .method("HEAD", HttpRequest.BodyPublishers.noBody()).header("Accept-Encoding", "identity").build(),
                    HttpResponse.BodyHandlers.discarding()));
            check(r, repo, path, commit);
            Optional<String> location = header(r, "Location").map(uri::resolve).map(URI::toString);
            if (r.statusCode() / 100 == 3 && header(r, "X-Linked-Etag").isEmpty() && location.isPresent()
                    && sameHost(URI.create(location.get()))) {
                uri = URI.create(location.get()); // a renamed repository: the Hub points at the new name
                continue;
            }
            String etag = header(r, "X-Linked-Etag").or(() -> header(r, "ETag"))
                    .map(e -> e.replaceFirst("^W/", "").replace("\"", "")).orElse("");
            if (!etag.matches("[0-9A-Za-z._-]{8,128}")) {
                throw new JseekException("the Hub gave no usable ETag for " + repo + "/" + path + " ('" + etag + "')");
            }
            long size = header(r, "X-Linked-Size").or(() -> header(r, "Content-Length")).map(Long::parseLong).orElse(-1L);
            if (r.statusCode() / 100 == 3 && location.isEmpty()) {
                throw new JseekException("the Hub redirected " + repo + "/" + path + " without a Location");
            }
            return new FileMeta(etag, size, r.statusCode() / 100 == 3 ? URI.create(location.get()) : uri);
        }
        throw new JseekException("more than " + MAX_REDIRECTS + " redirects looking up " + repo + "/" + path);
    }

    /**
     * Downloads into {@code blob.incomplete} (kept on failure, resumed next time), checks it against its id and
     * moves it into place. Files of two chunks or more go as parallel ranges whose completion is recorded in
     * {@code blob.incomplete.chunks}; others as one stream resumed from the partial file's length.
     */
    private void download(String path, FileMeta meta, Path blob, Progress progress) throws IOException {
        Files.createDirectories(blob.getParent());
        Path part = blob.resolveSibling(blob.getFileName() + ".incomplete");
        Path chunks = blob.resolveSibling(blob.getFileName() + ".incomplete.chunks");
        boolean ranged = meta.size() >= 2 * settings.chunkBytes() && settings.connections() > 1;
        if (!ranged || !rangedDownload(path, meta, part, chunks, progress)) {
            Files.deleteIfExists(chunks);
            streamDownload(path, meta, part, progress);
        }
        progress.note("checking " + path);
        String actual = digest(part, meta.etag());
        if (actual != null && !actual.equalsIgnoreCase(meta.etag())) {
            Files.deleteIfExists(part);
            Files.deleteIfExists(chunks);
            throw new JseekException("checksum mismatch for " + path + ": the Hub says " + meta.etag() + ", the download hashes to "
                    + actual + "; the download was deleted (nothing was added to the cache): run the command again");
        }
        Files.move(part, blob, StandardCopyOption.ATOMIC_MOVE);
        Files.deleteIfExists(chunks);
        progress.finish(path, false);
    }

    /** One stream from the partial file's length (Range), restarted from zero if the server ignores the range. */
    private void streamDownload(String path, FileMeta meta, Path part, Progress progress) throws IOException {
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        if (meta.size() >= 0 && have > meta.size()) {
            Files.delete(part);
            have = 0;
        }
        progress.start(path, have, meta.size());
        if (have > 0) {
            progress.note("resuming " + path + " at byte " + have);
        }
        IOException last = null;
        for (int attempt = 0; attempt <= settings.retries(); attempt++) {
            if (attempt > 0) {
                pause(attempt);
                have = Files.size(part);
                progress.note("retrying " + path + " from byte " + have + " (" + last.getMessage() + ")");
            }
            if (meta.size() >= 0 && have == meta.size()) {
                return;
            }
            try {
                HttpRequest.Builder req = storageRequest(meta.url());
                if (have > 0) {
                    req.header("Range", "bytes=" + have + "-");
                }
                HttpResponse<InputStream> r = follow(req.GET().build());
                if (r.statusCode() == 416 && have == meta.size()) {
                    r.body().close();
                    return;
                }
                if (r.statusCode() / 100 == 5) {
                    r.body().close();
                    last = new IOException("HTTP " + r.statusCode());
                    continue;
                }
                checkStorage(r, path);
                boolean append = have > 0 && r.statusCode() == 206;
                if (append && !header(r, "Content-Range").orElse("").startsWith("bytes " + have + "-")) {
                    r.body().close();
                    throw new JseekException("the server answered a range request for " + path + " with the wrong range: "
                            + header(r, "Content-Range").orElse("(none)"));
                }
                if (!append && have > 0) {
                    progress.note("the server does not resume; " + path + " starts again");
                    progress.advance(-have);
                    have = 0;
                }
                try (FileChannel out = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
                    copy(r.body(), out, -1, progress, new AtomicLong());
                }
                have = Files.size(part);
                if (meta.size() < 0 || have == meta.size()) {
                    return;
                }
                last = new IOException("the transfer was cut at byte " + have + " of " + meta.size());
            } catch (IOException e) {
                last = e;
            }
        }
        throw new JseekException("download of " + path + " failed: " + last.getMessage() + "; the partial file is kept ("
                + part + "): run the same command again to resume");
    }

    /**
     * Parallel ranges of {@link HubSettings#chunkBytes}, each written at its place in the partial file and
     * recorded as done once on disk. Returns false if the server does not serve ranges (the caller streams).
     */
    private boolean rangedDownload(String path, FileMeta meta, Path part, Path chunks, Progress progress) throws IOException {
        long chunk = settings.chunkBytes();
        int n = Math.toIntExact((meta.size() + chunk - 1) / chunk);
        boolean[] done = new boolean[n];
        if (Files.isRegularFile(part) && Files.isRegularFile(chunks)) {
            for (String line : Files.readAllLines(chunks)) {
                if (line.matches("\\d+") && Integer.parseInt(line) < n) {
                    done[Integer.parseInt(line)] = true;
                }
            }
        } else if (Files.isRegularFile(part)) {
            // Left by a single stream (written from byte 0 on): the ranges it covers are done.
            long have = Math.min(Files.size(part), meta.size());
            try (FileChannel log = FileChannel.open(chunks, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                for (int i = 0; (i + 1) * chunk <= have || (i < n && have == meta.size()); i++) {
                    done[i] = true;
                    log.write(ByteBuffer.wrap((i + "\n").getBytes(StandardCharsets.US_ASCII)));
                }
            }
        }
        long have = 0;
        List<Integer> todo = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (done[i]) {
                have += Math.min(chunk, meta.size() - i * chunk);
            } else {
                todo.add(i);
            }
        }
        progress.start(path, have, meta.size());
        if (have > 0) {
            progress.note("resuming " + path + ": " + (n - todo.size()) + " of " + n + " ranges already here");
        }
        try (FileChannel out = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileChannel log = FileChannel.open(chunks, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            ExecutorService pool = Executors.newFixedThreadPool(Math.min(settings.connections(), Math.max(1, todo.size())), r -> {
                Thread t = new Thread(r, "jseek-download");
                t.setDaemon(true);
                return t;
            });
            try {
                List<Future<Boolean>> results = new ArrayList<>();
                for (int i : todo) {
                    long from = i * chunk;
                    long to = Math.min(meta.size(), from + chunk) - 1;
                    results.add(pool.submit(() -> {
                        if (!range(path, meta, out, from, to, progress)) {
                            return false;
                        }
                        out.force(false);
                        synchronized (log) {
                            log.write(ByteBuffer.wrap((i + "\n").getBytes(StandardCharsets.US_ASCII)));
                        }
                        return true;
                    }));
                }
                boolean ranges = true;
                JseekException failure = null;
                for (Future<Boolean> f : results) {
                    try {
                        ranges &= f.get();
                    } catch (ExecutionException e) {
                        if (e.getCause() instanceof JseekException je) {
                            failure = failure == null ? je : failure;
                        } else {
                            failure = failure == null ? new JseekException("download of " + path + " failed: " + e.getCause(), e.getCause()) : failure;
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("download of " + path + " interrupted");
                    }
                }
                if (failure != null) {
                    throw new JseekException(failure.getMessage() + "; the ranges already here are kept (" + part
                            + "): run the same command again to resume", failure);
                }
                return ranges;
            } finally {
                pool.shutdownNow();
            }
        }
    }

    /** One range [from, to] into its place; false if the server answered with the whole file instead. */
    private boolean range(String path, FileMeta meta, FileChannel out, long from, long to, Progress progress) throws IOException {
        IOException last = null;
        long pos = from;
        for (int attempt = 0; attempt <= settings.retries(); attempt++) {
            if (attempt > 0) {
                pause(attempt);
                progress.note("retrying bytes " + pos + "-" + to + " of " + path + " (" + last.getMessage() + ")");
            }
            try {
                HttpResponse<InputStream> r = follow(storageRequest(meta.url()).header("Range", "bytes=" + pos + "-" + to).GET().build());
                if (r.statusCode() / 100 == 5) {
                    r.body().close();
                    last = new IOException("HTTP " + r.statusCode());
                    continue;
                }
                checkStorage(r, path);
                if (r.statusCode() != 206) {
                    r.body().close();
                    return false;
                }
                AtomicLong copied = new AtomicLong();
                try {
                    copy(r.body(), out, pos, progress, copied);
                } finally {
                    pos += copied.get();
                }
                if (pos == to + 1) {
                    return true;
                }
                last = new IOException("the transfer was cut at byte " + pos + " of range " + from + "-" + to);
            } catch (IOException e) {
                last = e;
            }
        }
        throw new JseekException("download of " + path + " failed: " + last.getMessage());
    }

    /**
     * Copies a response body to {@code out} (at {@code position}, or appended when it is −1), cutting the
     * transfer if no byte arrives for {@link HubSettings#stall}. Returns the bytes copied; {@code copied} counts
     * them too, so that a caller knows how far a transfer got when it is cut.
     */
    private long copy(InputStream in, FileChannel out, long position, Progress progress, AtomicLong copied) throws IOException {
        AtomicLong lastByte = new AtomicLong(System.nanoTime());
        long stallNanos = settings.stall().toNanos();
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "jseek-download-watchdog");
            t.setDaemon(true);
            return t;
        });
        boolean[] stalled = new boolean[1];
        long period = Math.max(10, settings.stall().toMillis() / 4);
        watchdog.scheduleAtFixedRate(() -> {
            if (System.nanoTime() - lastByte.get() > stallNanos) {
                stalled[0] = true;
                try {
                    in.close();
                } catch (IOException ignored) {
                    // closing is how the blocked read is ended
                }
            }
        }, period, period, TimeUnit.MILLISECONDS);
        long total = 0;
        try (in) {
            byte[] buf = new byte[1 << 16];
            int k;
            while ((k = in.read(buf)) > 0) {
                lastByte.set(System.nanoTime());
                ByteBuffer b = ByteBuffer.wrap(buf, 0, k);
                while (b.hasRemaining()) {
                    if (position < 0) {
                        out.write(b);
                    } else {
                        out.write(b, position + total + (k - b.remaining()));
                    }
                }
                total += k;
                copied.addAndGet(k);
                progress.advance(k);
            }
        } catch (IOException e) {
            if (stalled[0]) {
                throw new IOException("no data for " + settings.stall().toSeconds() + " s", e);
            }
            throw e;
        } finally {
            watchdog.shutdownNow();
        }
        if (stalled[0]) {
            throw new IOException("no data for " + settings.stall().toSeconds() + " s");
        }
        return total;
    }

    /** The hash the Hub's id of this file is: sha256 for LFS files (64 hex digits), git's blob sha1 (40); null when neither. */
    static String digest(Path file, String etag) throws IOException {
        String algorithm = etag.matches("[0-9a-fA-F]{64}") ? "SHA-256" : etag.matches("[0-9a-fA-F]{40}") ? "SHA-1" : null;
        if (algorithm == null) {
            return null;
        }
        try {
            MessageDigest md = MessageDigest.getInstance(algorithm);
            if (algorithm.equals("SHA-1")) {
                md.update(("blob " + Files.size(file) + "\0").getBytes(StandardCharsets.US_ASCII));
            }
            try (InputStream in = Files.newInputStream(file)) {
                byte[] buf = new byte[1 << 20];
                int k;
                while ((k = in.read(buf)) > 0) {
                    md.update(buf, 0, k);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // --- HTTP ---

    private HttpRequest.Builder hubRequest(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(60)).header("User-Agent", "jseek");
        if (settings.token() != null) {
            b.header("Authorization", "Bearer " + settings.token());
        }
        return b;
    }

    /** A request for file bytes: the token goes along only while the address is the Hub's own host. */
    private HttpRequest.Builder storageRequest(URI uri) {
        return sameHost(uri) ? hubRequest(uri) : HttpRequest.newBuilder(uri).header("User-Agent", "jseek");
    }

    private boolean sameHost(URI uri) {
        URI hub = settings.endpoint();
        return hub.getHost().equalsIgnoreCase(uri.getHost()) && hub.getPort() == uri.getPort()
                && hub.getScheme().equalsIgnoreCase(uri.getScheme());
    }

    /** Sends a GET, following redirects by hand so that the token is dropped when the host changes. */
    private HttpResponse<InputStream> follow(HttpRequest request) throws IOException {
        HttpRequest req = request;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpResponse<InputStream> r = send(req, HttpResponse.BodyHandlers.ofInputStream());
            if (r.statusCode() / 100 != 3) {
                return r;
            }
            r.body().close();
            URI next = req.uri().resolve(header(r, "Location").orElseThrow(() -> new IOException("redirect without Location")));
            HttpRequest.Builder b = storageRequest(next);
            req.headers().firstValue("Range").ifPresent(v -> b.header("Range", v));
            req = b.GET().build();
        }
        throw new IOException("more than " + MAX_REDIRECTS + " redirects for " + request.uri());
    }

    private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> body) throws IOException {
        try {
            return http.send(req, body);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted: " + req.uri());
        }
    }

    private interface Call<T> {
        HttpResponse<T> run() throws IOException;
    }

    /** Retries a Hub call on connection errors and 5xx answers; returns the last answer. */
    private <T> HttpResponse<T> withRetries(String what, Call<T> call) throws IOException {
        IOException last = null;
        HttpResponse<T> r = null;
        for (int attempt = 0; attempt <= settings.retries(); attempt++) {
            if (attempt > 0) {
                pause(attempt);
            }
            try {
                r = call.run();
                if (r.statusCode() / 100 != 5) {
                    return r;
                }
            } catch (IOException e) {
                last = e;
                r = null;
            }
        }
        if (r != null) {
            return r;
        }
        throw new JseekException("cannot reach " + settings.endpoint() + " to " + what + ": " + last
                + " (HF_HUB_OFFLINE=1 uses the cache alone)", last);
    }

    /** Turns a Hub error answer into a message naming what was asked for. */
    private void check(HttpResponse<?> r, String repo, String path, String revision) {
        int s = r.statusCode();
        if (s / 100 == 2 || s / 100 == 3) {
            return;
        }
        String code = header(r, "X-Error-Code").orElse("");
        String what = path == null ? repo : repo + "/" + path;
        if (s == 401 || s == 403) {
            throw new JseekException("access to " + what + " was refused (HTTP " + s + "): a private or gated repository needs "
                    + (settings.token() == null ? "a token: set HF_TOKEN" : "a token with access to it (HF_TOKEN is set but not accepted)"));
        }
        if (s == 404) {
            throw new JseekException(switch (code) {
                case "RevisionNotFound" -> "revision " + revision + " not found in " + repo;
                case "EntryNotFound" -> "file " + path + " not found in " + repo;
                default -> path == null ? "repository " + repo + " not found on " + settings.endpoint()
                        + (settings.token() == null ? " (or private: set HF_TOKEN)" : "") : "file " + path + " not found in " + repo;
            });
        }
        throw new JseekException("the Hub answered HTTP " + s + " for " + what + header(r, "X-Error-Message").map(m -> ": " + m).orElse(""));
    }

    private void checkStorage(HttpResponse<InputStream> r, String path) throws IOException {
        int s = r.statusCode();
        if (s == 200 || s == 206) {
            return;
        }
        r.body().close();
        if (s == 401 || s == 403) {
            throw new JseekException("the storage host refused " + path + " (HTTP " + s + ")");
        }
        throw new JseekException("the storage host answered HTTP " + s + " for " + path);
    }

    private static Optional<String> header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name);
    }

    private static void pause(int attempt) throws InterruptedIOException {
        try {
            Thread.sleep(Math.min(10_000, 250L << Math.min(attempt, 6)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to retry");
        }
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String encodePath(String path) {
        List<String> parts = new ArrayList<>();
        for (String p : path.split("/")) {
            parts.add(encode(p));
        }
        return String.join("/", parts);
    }
}

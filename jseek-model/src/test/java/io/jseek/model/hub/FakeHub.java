package io.jseek.model.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A local stand-in for the Hugging Face Hub, serving its URL layout and headers: {@code
 * /api/models/REPO/revision/REV} (commit and file list), {@code /REPO/resolve/REV/PATH} (small files served
 * directly with their git blob id as ETag; LFS files — .gguf, .safetensors — redirected with X-Linked-Etag
 * = sha256 and X-Linked-Size to a second server, the storage host, on another port), and on the storage host
 * the bytes, with ranges. Faults can be switched on: answers of 503, a transfer cut after some bytes, a
 * stalled transfer, corrupted bytes, a repository that wants a token.
 */
final class FakeHub implements AutoCloseable {
    static final String TOKEN = "hf_test_token";
    private static final Pattern RESOLVE = Pattern.compile("/([^/]+/[^/]+)/resolve/([^/]+)/(.+)");

    record Repo(String commit, Map<String, byte[]> files, boolean gated) {
    }

    /** One request as a server saw it. */
    record Seen(String host, String method, String path, String range, String authorization) {
    }

    final Map<String, Repo> repos = new ConcurrentHashMap<>();
    final List<Seen> seen = Collections.synchronizedList(new ArrayList<>());
    /** Answers of 503 still to give to API requests. */
    final AtomicInteger apiFailures = new AtomicInteger();
    /** Storage responses still to cut short, and after how many bytes. */
    final AtomicInteger cuts = new AtomicInteger();
    volatile int cutAfter = 50_000;
    /** Storage responses that send their headers and then nothing. */
    final AtomicInteger stalls = new AtomicInteger();
    /** Paths whose stored bytes are served with one byte changed. */
    final Set<String> corrupt = ConcurrentHashMap.newKeySet();

    private final HttpServer hub;
    private final HttpServer storage;
    private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();

    FakeHub() throws IOException {
        hub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        storage = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hub.createContext("/", this::hub);
        storage.createContext("/", this::storage);
        hub.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        storage.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        hub.start();
        storage.start();
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + hub.getAddress().getPort());
    }

    /** Adds a repository; its commit id is derived from its name. */
    Repo add(String name, boolean gated, Map<String, byte[]> files) {
        Repo r = new Repo(hex("SHA-1", name.getBytes(StandardCharsets.UTF_8)), new LinkedHashMap<>(files), gated);
        repos.put(name, r);
        return r;
    }

    List<Seen> storageRequests() {
        synchronized (seen) {
            return seen.stream().filter(s -> s.host().equals("storage")).toList();
        }
    }

    static boolean isLfs(String path) {
        return path.endsWith(".gguf") || path.endsWith(".safetensors");
    }

    static String sha256(byte[] b) {
        return hex("SHA-256", b);
    }

    static String gitBlobId(byte[] b) {
        byte[] head = ("blob " + b.length + "\0").getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[head.length + b.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(b, 0, all, head.length, b.length);
        return hex("SHA-1", all);
    }

    private static String hex(String algorithm, byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void record(String host, HttpExchange ex) {
        seen.add(new Seen(host, ex.getRequestMethod(), ex.getRequestURI().getPath(),
                ex.getRequestHeaders().getFirst("Range"), ex.getRequestHeaders().getFirst("Authorization")));
    }

    private void hub(HttpExchange ex) throws IOException {
        record("hub", ex);
        try (ex) {
            String path = ex.getRequestURI().getPath();
            if (path.startsWith("/api/models/")) {
                if (apiFailures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    send(ex, 503, "{\"error\":\"overloaded\"}");
                    return;
                }
                Matcher m = Pattern.compile("/api/models/([^/]+/[^/]+)/revision/(.+)").matcher(path);
                Repo repo = m.matches() ? repos.get(m.group(1)) : null;
                if (repo == null || !authorized(ex, repo)) {
                    ex.getResponseHeaders().set("X-Error-Code", "RepoNotFound");
                    send(ex, repo == null ? 404 : 401, "{\"error\":\"Repository not found\"}");
                    return;
                }
                if (!m.group(2).equals("main") && !m.group(2).equals(repo.commit())) {
                    ex.getResponseHeaders().set("X-Error-Code", "RevisionNotFound");
                    send(ex, 404, "{\"error\":\"Revision not found\"}");
                    return;
                }
                StringBuilder sb = new StringBuilder("{\"id\":\"" + m.group(1) + "\",\"sha\":\"" + repo.commit() + "\",\"siblings\":[");
                int i = 0;
                for (String f : repo.files().keySet()) {
                    sb.append(i++ == 0 ? "" : ",").append("{\"rfilename\":\"").append(f).append("\"}");
                }
                send(ex, 200, sb.append("]}").toString());
                return;
            }
            Matcher m = RESOLVE.matcher(path);
            Repo repo = m.matches() ? repos.get(m.group(1)) : null;
            if (repo == null || !authorized(ex, repo)) {
                ex.getResponseHeaders().set("X-Error-Code", "RepoNotFound");
                send(ex, repo == null ? 404 : 401, "");
                return;
            }
            byte[] data = repo.files().get(m.group(3));
            if (data == null) {
                ex.getResponseHeaders().set("X-Error-Code", "EntryNotFound");
                send(ex, 404, "");
                return;
            }
            ex.getResponseHeaders().set("X-Repo-Commit", repo.commit());
            if (isLfs(m.group(3))) {
                String sha = sha256(data);
                blobs.put(sha, corrupt.contains(m.group(3)) ? flipped(data) : data);
                ex.getResponseHeaders().set("X-Linked-Etag", "\"" + sha + "\"");
                ex.getResponseHeaders().set("X-Linked-Size", Long.toString(data.length));
                ex.getResponseHeaders().set("ETag", "\"" + gitBlobId(("version https://git-lfs.github.com/spec/v1\noid sha256:" + sha).getBytes(StandardCharsets.UTF_8)) + "\"");
                ex.getResponseHeaders().set("Location", "http://127.0.0.1:" + storage.getAddress().getPort() + "/blobs/" + sha + "?signed=1");
                ex.sendResponseHeaders(302, -1);
                return;
            }
            ex.getResponseHeaders().set("ETag", "\"" + gitBlobId(data) + "\"");
            if (ex.getRequestMethod().equals("HEAD")) {
                ex.getResponseHeaders().set("Content-Length", Long.toString(data.length));
                ex.sendResponseHeaders(200, -1);
                return;
            }
            serve(ex, data);
        }
    }

    private void storage(HttpExchange ex) throws IOException {
        record("storage", ex);
        try (ex) {
            String path = ex.getRequestURI().getPath();
            byte[] data = path.startsWith("/blobs/") ? blobs.get(path.substring("/blobs/".length())) : null;
            if (data == null) {
                send(ex, 404, "");
                return;
            }
            serve(ex, data);
        }
    }

    private static boolean authorized(HttpExchange ex, Repo repo) {
        return !repo.gated() || ("Bearer " + TOKEN).equals(ex.getRequestHeaders().getFirst("Authorization"));
    }

    /** The bytes, or the requested range of them, subject to the cut and stall faults. */
    private void serve(HttpExchange ex, byte[] data) throws IOException {
        int from = 0;
        int to = data.length - 1;
        String range = ex.getRequestHeaders().getFirst("Range");
        int status = 200;
        if (range != null) {
            Matcher r = Pattern.compile("bytes=(\\d+)-(\\d*)").matcher(range);
            if (!r.matches()) {
                send(ex, 400, "");
                return;
            }
            from = Integer.parseInt(r.group(1));
            to = r.group(2).isEmpty() ? data.length - 1 : Math.min(data.length - 1, Integer.parseInt(r.group(2)));
            if (from >= data.length) {
                ex.getResponseHeaders().set("Content-Range", "bytes */" + data.length);
                ex.sendResponseHeaders(416, -1);
                return;
            }
            status = 206;
            ex.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + to + "/" + data.length);
        }
        ex.getResponseHeaders().set("Accept-Ranges", "bytes");
        int length = to - from + 1;
        ex.sendResponseHeaders(status, length);
        OutputStream out = ex.getResponseBody();
        if (stalls.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            out.flush();
            try {
                Thread.sleep(3000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        if (cuts.getAndUpdate(n -> Math.max(0, n - 1)) > 0 && length > cutAfter) {
            out.write(data, from, cutAfter);
            out.flush();
            // Ending the exchange mid-body closes the connection: the client sees fewer bytes than Content-Length.
            throw new IOException("cut on purpose");
        }
        out.write(data, from, length);
    }

    private static byte[] flipped(byte[] data) {
        byte[] c = data.clone();
        c[c.length / 2] ^= 1;
        return c;
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        if (ex.getRequestMethod().equals("HEAD") || b.length == 0) {
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
    }

    @Override
    public void close() {
        hub.stop(0);
        storage.stop(0);
    }
}

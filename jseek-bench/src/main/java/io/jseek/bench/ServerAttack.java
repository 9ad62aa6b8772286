package io.jseek.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Attacks a running {@code jseek serve} the way docs/serving.md's hardening section measures it (a tool, not a test):
 * <pre>
 *   flood URL N                 N connections that send half a request head and wait, while /health is polled
 *   slow URL N                  N slow-header connections: how long until the server closes them
 *   soak URL MINUTES [PID]      16 clients: plain, streamed and abandoned completions plus hostile requests, for
 *                               MINUTES; status counts, and the server's RSS (PID) every 30 s
 * </pre>
 */
public final class ServerAttack {
    private ServerAttack() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: ServerAttack flood|slow URL N | soak URL MINUTES [PID]");
            System.exit(2);
        }
        URI url = URI.create(args[1]);
        switch (args[0]) {
            case "flood" -> flood(url, Integer.parseInt(args[2]));
            case "slow" -> slow(url, Integer.parseInt(args[2]));
            case "soak" -> soak(url, Double.parseDouble(args[2]), args.length > 3 ? Long.parseLong(args[3]) : -1);
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    private static Socket connect(URI url) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress(url.getHost(), url.getPort()), 3000);
        return s;
    }

    /** Status code of one request on a fresh connection; -1 when no answer came within 5 s. */
    private static int request(URI url, String method, String path, String body) {
        try (Socket s = connect(url)) {
            s.setSoTimeout(5000);
            byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            s.getOutputStream().write((method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    + (body == null ? "" : "Content-Type: application/json\r\nContent-Length: " + b.length + "\r\n")
                    + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().write(b);
            String status = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1)).readLine();
            s.getInputStream().readAllBytes();
            return status == null ? -1 : Integer.parseInt(status.split(" ")[1]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static void flood(URI url, int n) throws Exception {
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong healthOk = new AtomicLong();
        AtomicLong healthFailed = new AtomicLong();
        AtomicLong worstMs = new AtomicLong();
        Thread poller = Thread.ofPlatform().start(() -> {
            while (!done.get()) {
                long t = System.nanoTime();
                int status = request(url, "GET", "/health", null);
                long ms = (System.nanoTime() - t) / 1_000_000;
                worstMs.accumulateAndGet(ms, Math::max);
                (status == 200 ? healthOk : healthFailed).incrementAndGet();
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        List<Socket> open = new ArrayList<>();
        long attempts = 0;
        long connectFailures = 0;
        long closedByServer = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            attempts++;
            try {
                Socket s = connect(url);
                s.getOutputStream().write("GET /health HTTP/1.1\r\nX-Slow: ".getBytes(StandardCharsets.ISO_8859_1));
                open.add(s);
            } catch (IOException e) {
                connectFailures++;
            }
            if (open.size() >= 2000 || i == n - 1) {
                closedByServer += sweep(open);
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        Thread.sleep(2000);
        closedByServer += sweep(open);
        done.set(true);
        poller.join();
        System.out.printf("flood: %d connection attempts in %.1f s: %d refused at connect, %d closed by the server, "
                        + "%d still open; /health polled meanwhile: %d answered 200, %d failed, slowest %d ms%n",
                attempts, seconds, connectFailures, closedByServer, open.size(), healthOk.get(), healthFailed.get(),
                worstMs.get());
        for (Socket s : open) {
            s.close();
        }
    }

    /** Closes and drops the sockets the server has closed; returns how many. */
    private static int sweep(List<Socket> open) throws IOException {
        int closed = 0;
        for (var it = open.iterator(); it.hasNext(); ) {
            Socket s = it.next();
            s.setSoTimeout(1);
            try {
                if (s.getInputStream().read() < 0) {
                    s.close();
                    it.remove();
                    closed++;
                }
            } catch (SocketTimeoutException e) {
                // still open
            } catch (IOException e) {
                s.close();
                it.remove();
                closed++;
            }
        }
        return closed;
    }

    private static void slow(URI url, int n) throws Exception {
        List<Socket> open = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Socket s = connect(url);
            s.getOutputStream().write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: ".getBytes(StandardCharsets.ISO_8859_1));
            open.add(s);
        }
        long t0 = System.nanoTime();
        int total = open.size();
        while (!open.isEmpty() && System.nanoTime() - t0 < 120e9) {
            sweep(open);
            Thread.sleep(250);
        }
        System.out.printf("slow: %d slow-header connections, %d closed by the server after %.1f s%n", total,
                total - open.size(), (System.nanoTime() - t0) / 1e9);
        for (Socket s : open) {
            s.close();
        }
    }

    private static final String[] HOSTILE = {
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"seed\":1" + "0".repeat(400) + "}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":1e400}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":\"x\"}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"logprobs\":true,\"top_logprobs\":4294967296}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"logit_bias\":{\"\uff11\":1}}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":-1}",
        "{\"messages\":[",
        "[1,2,3]",
        "{\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}",
    };

    private static void soak(URI url, double minutes, long pid) throws Exception {
        Map<String, AtomicLong> statuses = new ConcurrentHashMap<>();
        AtomicLong left = new AtomicLong();
        long end = System.nanoTime() + (long) (minutes * 60e9);
        List<String> rss = new ArrayList<>();
        Thread sampler = Thread.ofPlatform().daemon().start(() -> {
            long t0 = System.nanoTime();
            while (true) {
                rss.add(String.format("%.0fs:%s", (System.nanoTime() - t0) / 1e9, pid > 0 ? rssKb(pid) : "?"));
                try {
                    Thread.sleep(30_000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        try (ExecutorService clients = Executors.newFixedThreadPool(16)) {
            for (int c = 0; c < 16; c++) {
                int client = c;
                clients.submit(() -> {
                    Random random = new Random(client);
                    for (int n = 0; System.nanoTime() < end; n++) {
                        String key;
                        if (n % 10 == 9) {
                            String body = HOSTILE[random.nextInt(HOSTILE.length)];
                            key = "hostile " + request(url, "POST", "/v1/chat/completions", body);
                        } else {
                            key = completion(url, client * 100_000 + n, random, left);
                        }
                        statuses.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
                    }
                    return null;
                });
            }
        }
        sampler.interrupt();
        if (pid > 0) {
            rss.add("end:" + rssKb(pid));
        }
        System.out.printf("soak: %.1f min, 16 clients; responses by kind and status %s; %d left mid-stream; "
                + "server RSS (kB) %s%n", minutes, new TreeMap<>(statuses), left.get(), rss);
    }

    private static String rssKb(long pid) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (l.startsWith("VmRSS:")) {
                    return l.replaceAll("\\D+", "");
                }
            }
        } catch (IOException e) {
            return "gone";
        }
        return "?";
    }

    /** One completion as LoadTest does it: plain, streamed, or streamed and abandoned after the first event. */
    private static String completion(URI url, int n, Random random, AtomicLong left) {
        boolean stream = random.nextBoolean();
        boolean leave = stream && random.nextInt(3) == 0;
        String system = n % 3 == 0 ? "You are a helpful assistant who answers briefly and precisely. ".repeat(3) : "Be brief.";
        String body = "{\"messages\":[{\"role\":\"system\",\"content\":\"" + system + "\"},{\"role\":\"user\",\"content\":\"Question "
                + n + "\"}],\"max_tokens\":" + (leave ? 200 : 8 + n % 24) + ",\"stream\":" + stream
                + ",\"temperature\":0.8,\"seed\":" + n + "}";
        try (Socket s = connect(url)) {
            s.setSoTimeout(120_000);
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(b);
            InputStream in = s.getInputStream();
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            String status = r.readLine();
            String code = status == null ? "none" : status.split(" ")[1];
            if (leave) {
                String line;
                while ((line = r.readLine()) != null && !line.startsWith("data:")) {
                    // up to the first event
                }
                left.incrementAndGet();
                return "left " + code;
            }
            StringBuilder all = new StringBuilder();
            for (String line; (line = r.readLine()) != null; ) {
                all.append(line).append('\n');
            }
            boolean complete = stream ? all.toString().contains("data: [DONE]") : all.toString().contains("\"usage\"");
            return (stream ? "stream " : "plain ") + code + (complete ? "" : " incomplete");
        } catch (IOException e) {
            return "error " + e.getClass().getSimpleName();
        }
    }
}

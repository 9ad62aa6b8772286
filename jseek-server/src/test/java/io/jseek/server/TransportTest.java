package io.jseek.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The transport's limits over raw sockets: what a slow, malformed or flooding client gets. A server without a model
 * is enough: /health answers 503 "loading" and every request path runs through the transport as with one.
 */
class TransportTest {
    private static Server server(Server.Limits limits) {
        return Server.start(Server.Options.defaults().withLimits(limits).withPort(0));
    }

    private static Server.Limits limits(int connections, long headerMs, long idleMs) {
        return new Server.Limits(connections, Duration.ofMillis(headerMs), Duration.ofMillis(idleMs), 16 << 10);
    }

    /** Sends {@code request} on a fresh connection and returns the whole answer (until the server closes or 5 s). */
    private static String exchange(Server s, String request) throws IOException {
        try (Socket c = connect(s)) {
            c.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            return readAll(c);
        }
    }

    private static Socket connect(Server s) throws IOException {
        Socket c = new Socket();
        c.connect(new InetSocketAddress("127.0.0.1", s.port()), 5000);
        c.setSoTimeout(5000);
        return c;
    }

    private static String readAll(Socket c) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        InputStream in = c.getInputStream();
        byte[] buf = new byte[4096];
        try {
            for (int n; (n = in.read(buf)) >= 0; ) {
                out.write(buf, 0, n);
            }
        } catch (SocketTimeoutException | java.net.SocketException e) {
            // what came before the timeout or reset is the answer
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static JsonNode body(String response) {
        return Server.JSON.readTree(response.substring(response.indexOf("\r\n\r\n") + 4));
    }

    @Test
    void malformedHttpGetsAJsonError() throws Exception {
        try (Server s = server(Server.Limits.defaults())) {
            String r = exchange(s, "GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
            assertTrue(r.startsWith("HTTP/1.1 400"), r);
            assertTrue(r.contains("Content-Type: application/json"), r);
            assertEquals("invalid_request_error", body(r).at("/error/type").asString(), r);

            r = exchange(s, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n");
            assertTrue(r.startsWith("HTTP/1.1 431"), r.substring(0, Math.min(200, r.length())));
            assertEquals("request_header_too_large", body(r).at("/error/code").asString(), r);

            r = exchange(s, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
            assertTrue(r.startsWith("HTTP/1.1 4") || r.startsWith("HTTP/1.1 503"), r);
            assertTrue(!r.contains("<html"), r);
        }
    }

    @Test
    void keepAliveServesSeveralRequestsOnOneConnection() throws Exception {
        try (Server s = server(Server.Limits.defaults()); Socket c = connect(s)) {
            InputStream in = new BufferedInputStream(c.getInputStream());
            for (int i = 0; i < 3; i++) {
                c.getOutputStream().write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                String head = head(in);
                assertTrue(head.startsWith("HTTP/1.1 503"), head); // loading: no model
                int length = Integer.parseInt(head.replaceAll("(?s).*Content-Length: (\\d+).*", "$1"));
                assertEquals("loading", Server.JSON.readTree(in.readNBytes(length)).get("status").asString());
            }
        }
    }

    private static String head(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        while (!b.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("closed after " + b);
            }
            b.append((char) c);
        }
        return b.toString();
    }

    @Test
    void slowHeadsAndStalledBodiesAreClosed() throws Exception {
        try (Server s = server(limits(64, 300, 600))) {
            long t0 = System.nanoTime();
            try (Socket slow = connect(s)) {
                slow.getOutputStream().write("GET /health HTTP/1.1\r\nX-Slow: ".getBytes(StandardCharsets.ISO_8859_1));
                String r = readAll(slow); // returns when the server closes it
                assertTrue(r.isEmpty(), r);
            }
            double slowSeconds = (System.nanoTime() - t0) / 1e9;
            assertTrue(slowSeconds < 4, "closed after " + slowSeconds + " s");

            // A body announced and never sent: the idle timeout ends the wait with an answer or a close.
            t0 = System.nanoTime();
            String r = exchange(s, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 100\r\n\r\n{\"mo");
            double stalledSeconds = (System.nanoTime() - t0) / 1e9;
            assertTrue(stalledSeconds < 4, "closed after " + stalledSeconds + " s: " + r);
            assertTrue(r.isEmpty() || !r.contains(" 500 "), r);
            assertTrue(s.metricsText().contains("jseek_http_connections_timed_out_total 1"), s.metricsText());
        }
    }

    @Test
    void aFloodOfIdleConnectionsNeverLocksOutARealClient() throws Exception {
        try (Server s = server(limits(16, 60_000, 60_000))) {
            List<Socket> flood = new ArrayList<>();
            try {
                for (int i = 0; i < 200; i++) {
                    Socket c = new Socket();
                    c.connect(new InetSocketAddress("127.0.0.1", s.port()), 5000);
                    c.getOutputStream().write("GET /health HTTP/1.1\r\nX-a: ".getBytes(StandardCharsets.ISO_8859_1));
                    flood.add(c);
                }
                // The server opens connections on its selector threads after the kernel accepted them: wait until the
                // whole flood is in — never more than 16 open, all the rest refused — then come as a real client.
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (true) {
                    String metrics = s.metricsText();
                    long open = Long.parseLong(metrics.replaceAll("(?s).*\njseek_http_connections (\\d+)(\\.0)?\n.*", "$1"));
                    assertTrue(open <= 16, metrics);
                    long refused = Long.parseLong(metrics.replaceAll("(?s).*\njseek_http_connections_refused_total (\\d+)(\\.0)?\n.*", "$1"));
                    if (refused >= 200 - 16) {
                        break;
                    }
                    assertTrue(System.nanoTime() < deadline, metrics);
                    Thread.sleep(20);
                }
                for (int i = 0; i < 5; i++) {
                    String r = exchange(s, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                    assertTrue(r.startsWith("HTTP/1.1 503") && r.contains("loading"), "request " + i + ": " + r);
                }
                String metrics = s.metricsText();
                long open = Long.parseLong(metrics.replaceAll("(?s).*\njseek_http_connections (\\d+)(\\.0)?\n.*", "$1"));
                assertTrue(open <= 16, metrics);
            } finally {
                for (Socket c : flood) {
                    c.close();
                }
            }
        }
    }
}

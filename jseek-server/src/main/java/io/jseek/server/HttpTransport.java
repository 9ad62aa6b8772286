package io.jseek.server;

import io.jseek.core.JseekException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import tools.jackson.databind.node.ObjectNode;

/**
 * The HTTP transport under {@link Server}: Jetty 12 (chosen over Helidon SE 4 by measurement, docs/serving.md), each
 * request handled on a virtual thread with blocking reads and writes, HTTP/1.1 keep-alive, and limits that keep a
 * misbehaving client from starving the rest:
 * <ul>
 * <li>an idle timeout: a connection that sends or accepts nothing for that long while a read or write waits (a body
 *     that stops arriving, a client that stops reading, an idle keep-alive connection) is closed;</li>
 * <li>a header timeout: a connection that has not delivered a complete first request head within it is closed
 *     (slow-header clients);</li>
 * <li>a connection cap: beyond it a new connection makes room by closing the oldest connection still waiting for its
 *     first request head, or is itself closed at once when every connection is busy with a request — so a flood of
 *     idle connections can never lock out a real client, and descriptors stay bounded;</li>
 * <li>a request head size limit; every transport-level error (malformed HTTP, oversized head) answers with the
 *     API's JSON error body.</li>
 * </ul>
 */
final class HttpTransport {
    /** Connections now open, and those refused and timed out so far. */
    record Stats(long open, long refused, long timedOut) {
    }

    private static final System.Logger LOG = System.getLogger("jseek.server");

    private final org.eclipse.jetty.server.Server jetty;
    private final ServerConnector connector;
    private final Guard guard;

    /**
     * Listens on {@code host:port} and hands each request to {@code handler} on a virtual thread; the handler writes
     * the whole response through the {@link Exchange}.
     */
    HttpTransport(String host, int port, Server.Limits limits, Consumer<Exchange> handler) {
        QueuedThreadPool pool = new QueuedThreadPool();
        pool.setName("jseek-http");
        pool.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
        jetty = new org.eclipse.jetty.server.Server(pool);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        http.setRequestHeaderSize(limits.maxHeaderBytes());
        connector = new ServerConnector(jetty, new HttpConnectionFactory(http));
        connector.setHost(host);
        connector.setPort(port);
        connector.setIdleTimeout(limits.idleTimeout().toMillis());
        connector.setAcceptQueueSize(1024);
        guard = new Guard(limits.maxConnections(), limits.headerTimeout().toNanos());
        connector.addBean(guard);
        jetty.addConnector(connector);
        jetty.setErrorHandler(new JsonErrors());
        jetty.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                guard.served(request.getConnectionMetaData().getConnection());
                Exchange ex = new Exchange(request, response);
                try {
                    handler.accept(ex);
                    ex.finish();
                    callback.succeeded();
                } catch (Throwable t) {
                    callback.failed(t); // the client is gone, or the handler failed after the response started
                }
                return true;
            }
        });
        ScheduledExecutorScheduler sweeper = new ScheduledExecutorScheduler("jseek-http-sweep", true);
        jetty.addBean(sweeper);
        try {
            jetty.start();
        } catch (Exception e) {
            stopQuietly();
            throw new JseekException("cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
        }
        long period = Math.max(100, Math.min(1000, limits.headerTimeout().toMillis() / 4));
        sweep(sweeper, period);
    }

    private void sweep(ScheduledExecutorScheduler sweeper, long periodMs) {
        sweeper.schedule(() -> {
            guard.sweep();
            if (jetty.isRunning()) {
                sweep(sweeper, periodMs);
            }
        }, periodMs, TimeUnit.MILLISECONDS);
    }

    int port() {
        return connector.getLocalPort();
    }

    Stats stats() {
        return new Stats(guard.open.size(), guard.refused.get(), guard.timedOut.get());
    }

    /** Stops accepting and closes connections, waiting up to {@code grace} for responses under way. */
    void stop(Duration grace) {
        jetty.setStopTimeout(grace.toMillis());
        stopQuietly();
    }

    private void stopQuietly() {
        try {
            jetty.stop();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.DEBUG, "stopping the HTTP server", e);
        }
    }

    /** Enforces the connection cap and the header timeout; counts what it closes. */
    private static final class Guard implements Connection.Listener {
        /** Each open connection, and whether a request of it has reached the handler. */
        private final Map<Connection, State> open = new ConcurrentHashMap<>();
        private final int max;
        private final long headerTimeoutNanos;
        private final AtomicLong refused = new AtomicLong();
        private final AtomicLong timedOut = new AtomicLong();

        private static final class State {
            final long opened = System.nanoTime();
            volatile boolean served;
        }

        Guard(int max, long headerTimeoutNanos) {
            this.max = max;
            this.headerTimeoutNanos = headerTimeoutNanos;
        }

        /**
         * At the cap, closes the oldest connection still waiting for its first request, else this one — before adding
         * it, so that the count never exceeds the cap. Synchronized: connections open on several selector threads at
         * once, and two that both found the map full could pick the same victim (seen: 18 open of 16).
         */
        @Override
        public synchronized void onOpened(Connection connection) {
            if (open.size() >= max) {
                Connection victim = null;
                long oldest = Long.MAX_VALUE;
                for (var e : open.entrySet()) {
                    State s = e.getValue();
                    if (!s.served && s.opened < oldest) {
                        oldest = s.opened;
                        victim = e.getKey();
                    }
                }
                refused.incrementAndGet();
                if (victim == null) {
                    connection.getEndPoint().close();
                    return;
                }
                open.remove(victim);
                victim.getEndPoint().close();
            }
            open.put(connection, new State());
        }

        @Override
        public void onClosed(Connection connection) {
            open.remove(connection);
        }

        void served(Connection connection) {
            State s = connection == null ? null : open.get(connection);
            if (s != null) {
                s.served = true;
            }
        }

        /** Closes connections that have not delivered a first request head within the header timeout. */
        void sweep() {
            long now = System.nanoTime();
            for (var e : open.entrySet()) {
                State s = e.getValue();
                if (!s.served && now - s.opened > headerTimeoutNanos) {
                    Connection c = e.getKey();
                    // A connection whose first request is mid-parse or mid-body has bytes in; one that has sent
                    // nothing useful for this long is a slow client either way.
                    if (open.remove(c) != null) {
                        timedOut.incrementAndGet();
                        c.getEndPoint().close();
                    }
                }
            }
        }
    }

    /** Transport-level errors (malformed HTTP, an oversized head, an unhandled failure) as the API's JSON errors. */
    private static final class JsonErrors extends ErrorHandler {
        @Override
        protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
                                        Callback callback) {
            byte[] body = body(code, message);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
            response.write(true, ByteBuffer.wrap(body), callback);
        }

        @Override
        public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
            fields.put(new HttpField(HttpHeader.CONTENT_TYPE, "application/json"));
            return ByteBuffer.wrap(body(status, reason));
        }

        private static byte[] body(int code, String message) {
            String text = message == null || message.isBlank() ? HttpStatus.getMessage(code) : message;
            ApiException e = new ApiException(code, code >= 500 ? "server_error" : "invalid_request_error",
                    code == 431 ? "request_header_too_large" : code >= 500 ? "internal_error" : "bad_request", null,
                    "HTTP " + code + ": " + Server.excerpt(text), 0);
            ObjectNode err = Server.errorBody(e);
            return Server.JSON.writeValueAsString(err).getBytes(StandardCharsets.UTF_8);
        }
    }
}

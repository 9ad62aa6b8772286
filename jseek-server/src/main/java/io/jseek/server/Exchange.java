package io.jseek.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

/**
 * One HTTP request and its response, as the handlers see it: blocking reads and writes on the request's virtual
 * thread. It hides the transport (Jetty's request, response and callback) so the API code names none of it, and it
 * carries what the handler learned for the request log.
 */
final class Exchange {
    private final Request request;
    private final Response response;
    private OutputStream out;
    /** What the handler learned about this request, for its log line. */
    final RequestLog.Info info = new RequestLog.Info();

    Exchange(Request request, Response response) {
        this.request = request;
        this.response = response;
    }

    String method() {
        return request.getMethod();
    }

    /** The decoded path, as the client sent it. */
    String path() {
        String p = request.getHttpURI().getDecodedPath();
        return p == null ? "/" : p;
    }

    /** The first value of request header {@code name}, or null. */
    String header(String name) {
        return request.getHeaders().get(name);
    }

    /** The client's IP address as text ("" when unknown). */
    String clientAddress() {
        SocketAddress a = request.getConnectionMetaData().getRemoteSocketAddress();
        return a instanceof InetSocketAddress i && i.getAddress() != null ? i.getAddress().getHostAddress() : "";
    }

    InputStream body() {
        return Content.Source.asInputStream(request);
    }

    /** Sets response header {@code name} (before {@link #start}). */
    void setHeader(String name, String value) {
        response.getHeaders().put(name, value);
    }

    /** Whether the status line has been sent (then an error can only be reported inside the body). */
    boolean started() {
        return out != null || response.isCommitted();
    }

    /**
     * Sends the status and headers and returns the body's stream; {@code length} ≥ 0 is the exact body length, -1 a
     * body of unknown length (chunked, for streams). Closing the stream ends the response.
     */
    OutputStream start(int status, long length) {
        response.setStatus(status);
        if (length >= 0) {
            response.getHeaders().put(HttpHeader.CONTENT_LENGTH, length);
        }
        out = Content.Sink.asOutputStream(response);
        return out;
    }

    /** The response status set so far. */
    int status() {
        return response.getStatus();
    }

    /** Ends the response (a body never started is sent empty). */
    void finish() throws IOException {
        if (out == null) {
            start(response.getStatus(), 0);
        }
        out.close();
    }
}

package io.jseek.server;

/**
 * An error the API reports to the client as {@code {"error": {"message", "type", "param", "code"}}} with
 * an HTTP status, the way OpenAI and DeepSeek shape theirs.
 */
final class ApiException extends RuntimeException {
    final int status;
    final String type;
    final String code;
    final String param;
    /** Seconds for a Retry-After header, or 0. */
    final int retryAfter;

    ApiException(int status, String type, String code, String param, String message, int retryAfter) {
        super(message);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
        this.retryAfter = retryAfter;
    }

    /** 400: the request is wrong; {@code param} names the field. */
    static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", "invalid_value", param, message, 0);
    }

    static ApiException invalid(String param, String code, String message) {
        return new ApiException(400, "invalid_request_error", code, param, message, 0);
    }
}

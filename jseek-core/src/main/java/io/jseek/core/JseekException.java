package io.jseek.core;

/**
 * The base of every exception jseek throws on bad input: a malformed file, a missing key, an unsupported
 * tensor type. The message names the file and the field so a user can act on it.
 */
public class JseekException extends RuntimeException {
    public JseekException(String message) {
        super(message);
    }

    public JseekException(String message, Throwable cause) {
        super(message, cause);
    }
}

package io.jseek.core.gguf;

import io.jseek.core.JseekException;

/** A GGUF file that cannot be read, or a metadata key that is missing or of the wrong type. */
public final class GgufException extends JseekException {
    public GgufException(String message) {
        super(message);
    }

    public GgufException(String message, Throwable cause) {
        super(message, cause);
    }
}

package io.jseek.core.gguf;

import java.util.Objects;

/**
 * One typed metadata value. The Java value is Byte/Short/Integer/Long for the integer types (unsigned ones
 * keep their bits), Float, Double, Boolean, String, or {@link GgufArray}.
 */
public record GgufValue(GgufValueType type, Object value) {

    public GgufValue {
        Objects.requireNonNull(type);
        Objects.requireNonNull(value);
        Class<?> expected = switch (type) {
            case UINT8, INT8 -> Byte.class;
            case UINT16, INT16 -> Short.class;
            case UINT32, INT32 -> Integer.class;
            case UINT64, INT64 -> Long.class;
            case FLOAT32 -> Float.class;
            case FLOAT64 -> Double.class;
            case BOOL -> Boolean.class;
            case STRING -> String.class;
            case ARRAY -> GgufArray.class;
        };
        if (value.getClass() != expected) {
            throw new IllegalArgumentException(type + " value needs " + expected.getSimpleName()
                    + ", got " + value.getClass().getSimpleName());
        }
    }

    public static GgufValue u32(int v) {
        return new GgufValue(GgufValueType.UINT32, v);
    }

    public static GgufValue i32(int v) {
        return new GgufValue(GgufValueType.INT32, v);
    }

    public static GgufValue u64(long v) {
        return new GgufValue(GgufValueType.UINT64, v);
    }

    public static GgufValue f32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, v);
    }

    public static GgufValue string(String v) {
        return new GgufValue(GgufValueType.STRING, v);
    }

    public static GgufValue array(GgufValueType elementType, Object data) {
        return new GgufValue(GgufValueType.ARRAY, new GgufArray(elementType, data));
    }

    /** The value as a long, for any integer type (unsigned types read as unsigned). */
    long asLong() {
        return switch (type) {
            case UINT8 -> Byte.toUnsignedLong((Byte) value);
            case INT8 -> (Byte) value;
            case UINT16 -> Short.toUnsignedLong((Short) value);
            case INT16 -> (Short) value;
            case UINT32 -> Integer.toUnsignedLong((Integer) value);
            case INT32 -> (Integer) value;
            case UINT64, INT64 -> (Long) value;
            default -> throw new IllegalStateException(type + " is not an integer type");
        };
    }

    /** A short human-readable rendering: scalars in full, strings quoted and cut, arrays by type and length. */
    public String display(int maxChars) {
        String s = switch (type) {
            case STRING -> '"' + ((String) value).replace("\n", "\\n") + '"';
            case UINT8, UINT16, UINT32, UINT64 -> Long.toUnsignedString(asLong());
            case ARRAY -> value.toString();
            default -> value.toString();
        };
        return s.length() <= maxChars ? s : s.substring(0, Math.max(0, maxChars - 3)) + "...";
    }
}

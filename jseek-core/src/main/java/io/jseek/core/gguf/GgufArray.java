package io.jseek.core.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * A GGUF array value. {@code data} is a primitive array matching the element type: byte[] for u8/i8,
 * short[] for u16/i16, int[] for u32/i32, long[] for u64/i64, float[], double[], boolean[], String[],
 * or GgufArray[] for nested arrays. Unsigned values keep their bits; the element type says how to read them.
 */
public record GgufArray(GgufValueType elementType, Object data) {

    public GgufArray {
        Objects.requireNonNull(elementType);
        Objects.requireNonNull(data);
        Class<?> expected = switch (elementType) {
            case UINT8, INT8 -> byte[].class;
            case UINT16, INT16 -> short[].class;
            case UINT32, INT32 -> int[].class;
            case UINT64, INT64 -> long[].class;
            case FLOAT32 -> float[].class;
            case FLOAT64 -> double[].class;
            case BOOL -> boolean[].class;
            case STRING -> String[].class;
            case ARRAY -> GgufArray[].class;
        };
        if (data.getClass() != expected) {
            throw new IllegalArgumentException("array of " + elementType + " needs " + expected.getSimpleName()
                    + ", got " + data.getClass().getSimpleName());
        }
    }

    public int length() {
        return java.lang.reflect.Array.getLength(data);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufArray(GgufValueType t, Object d) && t == elementType
                && Arrays.deepEquals(new Object[] {data}, new Object[] {d});
    }

    @Override
    public int hashCode() {
        return 31 * elementType.hashCode() + Arrays.deepHashCode(new Object[] {data});
    }

    @Override
    public String toString() {
        return "array<" + elementType + ">[" + length() + "]";
    }
}

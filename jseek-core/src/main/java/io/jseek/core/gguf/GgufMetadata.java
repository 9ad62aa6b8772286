package io.jseek.core.gguf;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The key/value metadata of a GGUF file, in file order, with typed accessors whose errors name the file
 * and the key ({@code model.gguf: key deepseek2.attention.kv_lora_rank is missing}).
 *
 * <p>Types are checked exactly, as llama.cpp does: a count must be stored as u32, a scale as f32, a flag as
 * bool. The only leniency is for integer arrays, which may be stored as i32 or u32 (both occur in the wild).
 */
public final class GgufMetadata {
    private final String source;
    private final Map<String, GgufValue> values;

    public GgufMetadata(String source, Map<String, GgufValue> values) {
        this.source = source;
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** The name used in error messages (usually the file name). */
    public String source() {
        return source;
    }

    public Map<String, GgufValue> asMap() {
        return values;
    }

    public Set<String> keys() {
        return values.keySet();
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    public GgufValue get(String key) {
        return values.get(key);
    }

    private GgufValue require(String key, GgufValueType type) {
        GgufValue v = values.get(key);
        if (v == null) {
            throw new GgufException(source + ": key " + key + " is missing");
        }
        if (v.type() != type) {
            throw new GgufException(source + ": key " + key + " has type " + v.type() + ", expected " + type);
        }
        return v;
    }

    private GgufValue optional(String key, GgufValueType type) {
        return values.containsKey(key) ? require(key, type) : null;
    }

    /** A u32 value as a non-negative int; values above Integer.MAX_VALUE are an error. */
    public int u32(String key) {
        return checkedInt(key, require(key, GgufValueType.UINT32));
    }

    public int u32(String key, int defaultValue) {
        GgufValue v = optional(key, GgufValueType.UINT32);
        return v == null ? defaultValue : checkedInt(key, v);
    }

    private int checkedInt(String key, GgufValue v) {
        long x = v.asLong();
        if (x > Integer.MAX_VALUE) {
            throw new GgufException(source + ": key " + key + " = " + x + " is too large");
        }
        return (int) x;
    }

    public float f32(String key) {
        return (Float) require(key, GgufValueType.FLOAT32).value();
    }

    public float f32(String key, float defaultValue) {
        GgufValue v = optional(key, GgufValueType.FLOAT32);
        return v == null ? defaultValue : (Float) v.value();
    }

    public boolean bool(String key) {
        return (Boolean) require(key, GgufValueType.BOOL).value();
    }

    public boolean bool(String key, boolean defaultValue) {
        GgufValue v = optional(key, GgufValueType.BOOL);
        return v == null ? defaultValue : (Boolean) v.value();
    }

    public String string(String key) {
        return (String) require(key, GgufValueType.STRING).value();
    }

    public String string(String key, String defaultValue) {
        GgufValue v = optional(key, GgufValueType.STRING);
        return v == null ? defaultValue : (String) v.value();
    }

    private GgufArray array(String key, GgufValueType... elementTypes) {
        GgufArray a = (GgufArray) require(key, GgufValueType.ARRAY).value();
        for (GgufValueType t : elementTypes) {
            if (a.elementType() == t) {
                return a;
            }
        }
        throw new GgufException(source + ": key " + key + " is an array of " + a.elementType()
                + ", expected an array of " + elementTypes[0]);
    }

    public String[] stringArray(String key) {
        return (String[]) array(key, GgufValueType.STRING).data();
    }

    /** An array of 32-bit integers (stored as i32 or u32). */
    public int[] intArray(String key) {
        return (int[]) array(key, GgufValueType.INT32, GgufValueType.UINT32).data();
    }

    public float[] floatArray(String key) {
        return (float[]) array(key, GgufValueType.FLOAT32).data();
    }
}

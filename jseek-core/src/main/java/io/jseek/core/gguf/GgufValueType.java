package io.jseek.core.gguf;

/** The metadata value types of GGUF, with their on-disk ids. */
public enum GgufValueType {
    UINT8(0, 1, "u8"),
    INT8(1, 1, "i8"),
    UINT16(2, 2, "u16"),
    INT16(3, 2, "i16"),
    UINT32(4, 4, "u32"),
    INT32(5, 4, "i32"),
    FLOAT32(6, 4, "f32"),
    BOOL(7, 1, "bool"),
    STRING(8, 8, "string"),
    ARRAY(9, 12, "array"),
    UINT64(10, 8, "u64"),
    INT64(11, 8, "i64"),
    FLOAT64(12, 8, "f64");

    private static final GgufValueType[] BY_ID = values();

    public final int id;
    /** The fewest bytes one value of this type takes in a file (a string's or array's header). */
    public final int minBytes;
    /** The short name used in error messages, as llama.cpp users know them. */
    public final String shortName;

    GgufValueType(int id, int minBytes, String shortName) {
        this.id = id;
        this.minBytes = minBytes;
        this.shortName = shortName;
    }

    /** The type with this id, or null when the id is not a GGUF value type. */
    public static GgufValueType byId(long id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
    }

    @Override
    public String toString() {
        return shortName;
    }
}

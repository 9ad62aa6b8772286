package io.jseek.core.gguf;

import io.jseek.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a GGUF header from a mapped file. Every read is bounds-checked and every length is checked against
 * the bytes that remain before anything is allocated, so a corrupt file ends in a {@link GgufException}
 * naming the file and the field, never in a JVM error or a giant allocation.
 */
final class GgufParser {
    static final int MAGIC = 0x46554747; // "GGUF" little-endian
    static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMS = 4;
    private static final int MAX_ARRAY_NESTING = 8;

    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The parsed header of one file. Tensor offsets are relative to {@code dataStart}. */
    record Header(int version, GgufMetadata metadata, List<GgufTensorInfo> tensors, int alignment, long dataStart) {
    }

    private final String file;
    private final MemorySegment seg;
    private final long size;
    private long pos;

    private GgufParser(String file, MemorySegment seg) {
        this.file = file;
        this.seg = seg;
        this.size = seg.byteSize();
    }

    static Header parse(String file, MemorySegment seg) {
        return new GgufParser(file, seg).header();
    }

    private Header header() {
        if (size < 4 || seg.get(INT, 0) != MAGIC) {
            throw fail("not a GGUF file (bad magic" + (size < 4 ? ", file has only " + size + " bytes" : "") + ")");
        }
        pos = 4;
        int version = u32("version");
        if (version == 1) {
            throw fail("GGUF version 1 is not supported; re-convert the model with a current llama.cpp");
        }
        if (version != 2 && version != 3) {
            throw fail("unsupported GGUF version " + Integer.toUnsignedString(version) + " (jseek reads versions 2 and 3)");
        }
        long nTensors = count("tensor count", 24);
        long nKv = count("metadata count", 13);

        Map<String, GgufValue> kv = new LinkedHashMap<>();
        for (long i = 0; i < nKv; i++) {
            String key = string("key of metadata entry " + i);
            long typeId = Integer.toUnsignedLong(u32("type of key " + key));
            GgufValueType type = GgufValueType.byId(typeId);
            if (type == null) {
                throw fail("key " + key + " has unknown value type " + typeId);
            }
            GgufValue value = value(key, type, 0);
            if (kv.putIfAbsent(key, value) != null) {
                throw fail("duplicate metadata key " + key);
            }
        }
        GgufMetadata metadata = new GgufMetadata(file, kv);

        int alignment = DEFAULT_ALIGNMENT;
        if (metadata.has("general.alignment")) {
            alignment = metadata.u32("general.alignment");
            if (alignment == 0 || Integer.bitCount(alignment) != 1) {
                throw fail("general.alignment = " + alignment + " is not a power of two");
            }
        }

        List<GgufTensorInfo> tensors = new ArrayList<>((int) nTensors);
        Map<String, Boolean> names = new LinkedHashMap<>();
        for (long i = 0; i < nTensors; i++) {
            GgufTensorInfo t = tensorInfo(i);
            if (names.put(t.name(), Boolean.TRUE) != null) {
                throw fail("duplicate tensor name " + t.name());
            }
            if (t.offset() % alignment != 0) {
                throw fail("tensor " + t.name() + " has offset " + t.offset() + ", not a multiple of the alignment " + alignment);
            }
            tensors.add(t);
        }

        long dataStart = Math.ceilDiv(pos, alignment) * (long) alignment;
        checkData(tensors, dataStart, alignment);
        return new Header(version, metadata, List.copyOf(tensors), alignment, dataStart);
    }

    private GgufTensorInfo tensorInfo(long index) {
        String name = string("name of tensor " + index);
        int nDims = u32("dimension count of tensor " + name);
        if (nDims < 1 || nDims > MAX_DIMS) {
            throw fail("tensor " + name + " has " + Integer.toUnsignedString(nDims) + " dimensions (1 to " + MAX_DIMS + " allowed)");
        }
        long[] shape = new long[nDims];
        long elements = 1;
        for (int d = 0; d < nDims; d++) {
            shape[d] = i64("dimension " + d + " of tensor " + name);
            if (shape[d] < 0) {
                throw fail("tensor " + name + " has negative dimension " + d + " = " + shape[d]);
            }
            try {
                elements = Math.multiplyExact(elements, shape[d]);
            } catch (ArithmeticException e) {
                throw fail("tensor " + name + " has too many elements (the product of its dimensions overflows)");
            }
        }
        long typeId = Integer.toUnsignedLong(u32("type of tensor " + name));
        GgmlType type = GgmlType.byId(typeId);
        if (type == null) {
            throw fail("tensor " + name + " has unknown ggml type id " + typeId);
        }
        if (!type.isSupported()) {
            throw fail("tensor " + name + " has type " + type + ", which jseek does not support yet (supported: "
                    + GgmlType.supportedNames() + ")");
        }
        if (shape[0] % type.blockSize != 0) {
            throw fail("tensor " + name + " has rows of " + shape[0] + " values, not a multiple of the "
                    + type + " block size " + type.blockSize);
        }
        long offset = i64("data offset of tensor " + name);
        if (offset < 0) {
            throw fail("tensor " + name + " has data offset " + Long.toUnsignedString(offset) + ", beyond any file");
        }
        return new GgufTensorInfo(name, shape, type, offset);
    }

    private void checkData(List<GgufTensorInfo> tensors, long dataStart, int alignment) {
        if (!tensors.isEmpty() && dataStart > size) {
            throw fail("truncated: the data section would start at byte " + dataStart + " but the file has " + size + " bytes");
        }
        long available = size - dataStart;
        // As llama.cpp: tensor data lies in header order, each at the previous one's end rounded up to the
        // alignment. Any other offset (a gap left by a tensor whose type was changed, an overlap) is refused.
        long expected = 0;
        long end = 0;
        for (GgufTensorInfo t : tensors) {
            long bytes;
            try {
                bytes = t.byteSize();
            } catch (ArithmeticException e) {
                throw fail("tensor " + t.name() + " is too large");
            }
            if (t.offset() != expected) {
                throw fail("tensor " + t.name() + " has data offset " + t.offset() + ", expected " + expected
                        + " (tensors lie one after another in header order; a tensor's type or shape may have changed)");
            }
            if (t.offset() > available || bytes > available - t.offset()) {
                throw fail("truncated or corrupt: tensor " + t.name() + " needs data bytes [" + t.offset() + ", "
                        + (t.offset() + bytes) + ") of the data section, which has only " + Math.max(0, available) + " bytes");
            }
            end = t.offset() + bytes;
            expected = Math.ceilDiv(end, alignment) * alignment;
        }
        // Writers (llama.cpp's, gguf-py) pad the last tensor like the others and stop: more bytes after it mean a
        // tensor's type or shape shrank (the last one has no successor whose offset would show it).
        if (!tensors.isEmpty() && available > expected) {
            throw fail((available - end) + " bytes follow the last tensor's data (" + tensors.getLast().name()
                    + " ends at " + end + " of " + available + "); a tensor's type or shape may have changed");
        }
    }

    private GgufValue value(String key, GgufValueType type, int depth) {
        String what = "value of key " + key;
        return switch (type) {
            case UINT8, INT8 -> new GgufValue(type, (byte) read(1, what));
            case UINT16, INT16 -> new GgufValue(type, (short) read(2, what));
            case UINT32, INT32 -> new GgufValue(type, (int) read(4, what));
            case UINT64, INT64 -> new GgufValue(type, read(8, what));
            case FLOAT32 -> new GgufValue(type, Float.intBitsToFloat((int) read(4, what)));
            case FLOAT64 -> new GgufValue(type, Double.longBitsToDouble(read(8, what)));
            case BOOL -> new GgufValue(type, bool(what));
            case STRING -> new GgufValue(type, string(what));
            case ARRAY -> new GgufValue(type, array(key, depth));
        };
    }

    private boolean bool(String what) {
        int b = (int) read(1, what);
        if (b != 0 && b != 1) {
            throw fail(what + " is a bool with invalid byte " + (b & 0xFF));
        }
        return b == 1;
    }

    private GgufArray array(String key, int depth) {
        if (depth >= MAX_ARRAY_NESTING) {
            throw fail("key " + key + " has arrays nested more than " + MAX_ARRAY_NESTING + " deep");
        }
        long typeId = Integer.toUnsignedLong(u32("array type of key " + key));
        GgufValueType et = GgufValueType.byId(typeId);
        if (et == null) {
            throw fail("key " + key + " is an array of unknown value type " + typeId);
        }
        long n = i64("array length of key " + key);
        if (n < 0 || n > (size - pos) / et.minBytes || n > Integer.MAX_VALUE - 16) {
            throw fail("truncated or corrupt: key " + key + " claims " + Long.toUnsignedString(n) + " array elements of type " + et
                    + ", more than the " + (size - pos) + " bytes left in the file can hold");
        }
        int len = (int) n;
        String what = "element of key " + key;
        Object data = switch (et) {
            case UINT8, INT8 -> {
                byte[] a = new byte[len];
                MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, a, 0, len);
                pos += len;
                yield a;
            }
            case UINT16, INT16 -> {
                short[] a = new short[len];
                MemorySegment.copy(seg, SHORT, pos, a, 0, len);
                pos += 2L * len;
                yield a;
            }
            case UINT32, INT32 -> {
                int[] a = new int[len];
                MemorySegment.copy(seg, INT, pos, a, 0, len);
                pos += 4L * len;
                yield a;
            }
            case UINT64, INT64 -> {
                long[] a = new long[len];
                MemorySegment.copy(seg, LONG, pos, a, 0, len);
                pos += 8L * len;
                yield a;
            }
            case FLOAT32 -> {
                float[] a = new float[len];
                MemorySegment.copy(seg, FLOAT, pos, a, 0, len);
                pos += 4L * len;
                yield a;
            }
            case FLOAT64 -> {
                double[] a = new double[len];
                MemorySegment.copy(seg, DOUBLE, pos, a, 0, len);
                pos += 8L * len;
                yield a;
            }
            case BOOL -> {
                boolean[] a = new boolean[len];
                for (int i = 0; i < len; i++) {
                    a[i] = bool(what);
                }
                yield a;
            }
            case STRING -> {
                String[] a = new String[len];
                for (int i = 0; i < len; i++) {
                    a[i] = string(what);
                }
                yield a;
            }
            case ARRAY -> {
                GgufArray[] a = new GgufArray[len];
                for (int i = 0; i < len; i++) {
                    a[i] = array(key, depth + 1);
                }
                yield a;
            }
        };
        return new GgufArray(et, data);
    }

    private String string(String what) {
        long len = i64("length of " + what);
        if (len < 0 || len > size - pos) {
            throw fail("truncated or corrupt: " + what + " claims a string of " + Long.toUnsignedString(len)
                    + " bytes but only " + (size - pos) + " bytes are left");
        }
        if (len > Integer.MAX_VALUE - 16) {
            throw fail(what + " is a string of " + len + " bytes, too long");
        }
        byte[] b = new byte[(int) len];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, b, 0, b.length);
        pos += len;
        return new String(b, StandardCharsets.UTF_8);
    }

    /** A u64 count whose every item takes at least {@code minBytes}: larger than the file allows is an error. */
    private long count(String what, int minBytes) {
        long n = i64(what);
        if (n < 0 || n > (size - pos) / minBytes) {
            throw fail("truncated or corrupt: " + what + " is " + Long.toUnsignedString(n) + " but the file has only "
                    + (size - pos) + " bytes left");
        }
        return n;
    }

    private int u32(String what) {
        return (int) read(4, what);
    }

    private long i64(String what) {
        return read(8, what);
    }

    private long read(int bytes, String what) {
        if (bytes > size - pos) {
            throw fail("truncated: the file ends in the middle of the " + what + " (byte " + pos + " of " + size + ")");
        }
        long v = switch (bytes) {
            case 1 -> seg.get(ValueLayout.JAVA_BYTE, pos);
            case 2 -> seg.get(SHORT, pos);
            case 4 -> seg.get(INT, pos);
            default -> seg.get(LONG, pos);
        };
        pos += bytes;
        return v;
    }

    private GgufException fail(String message) {
        // Names and strings from the file can hold terminal escapes and kilobytes of junk.
        return new GgufException(file + ": " + io.jseek.core.Excerpt.of(message, 300));
    }
}

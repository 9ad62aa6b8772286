package io.jseek.core.gguf;

import io.jseek.core.tensor.GgmlType;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a GGUF v3 file in one pass, tensor by tensor, so a model larger than memory can be written
 * (quantized or exported) while it is produced. The header — metadata and every tensor's name, shape and
 * type — is given up front; then {@link #writeTensor} is called once per tensor, in header order.
 *
 * <p>The file is written to {@code NAME.tmp} and renamed on a successful {@link #close()}, so an
 * interrupted write never leaves a truncated file under the final name.
 */
public final class GgufWriter implements AutoCloseable {

    /** A tensor to be written: its data is supplied later with {@link #writeTensor}. */
    public record TensorSpec(String name, GgmlType type, long[] shape) {
        public TensorSpec {
            shape = shape.clone();
        }
    }

    private final Path target;
    private final Path temp;
    private final OutputStream out;
    private final int alignment;
    private final List<GgufTensorInfo> tensors = new ArrayList<>();
    private long written;
    private int next;
    private boolean failed;

    /**
     * Starts a file with this metadata and these tensors. If the metadata has {@code general.alignment}
     * (u32, a power of two) it is used; otherwise 32.
     */
    public GgufWriter(Path target, Map<String, GgufValue> metadata, List<TensorSpec> specs) throws IOException {
        this.target = target;
        this.temp = target.resolveSibling(target.getFileName() + ".tmp");
        GgufValue al = metadata.get("general.alignment");
        if (al != null) {
            if (al.type() != GgufValueType.UINT32 || (Integer) al.value() <= 0 || Integer.bitCount((Integer) al.value()) != 1) {
                throw new IllegalArgumentException("general.alignment must be a u32 power of two, got " + al);
            }
            this.alignment = (Integer) al.value();
        } else {
            this.alignment = GgufParser.DEFAULT_ALIGNMENT;
        }
        long offset = 0;
        Set<String> names = new HashSet<>();
        for (TensorSpec s : specs) {
            if (!names.add(s.name())) {
                throw new IllegalArgumentException("duplicate tensor name " + s.name());
            }
            if (s.shape().length < 1 || s.shape().length > GgufParser.MAX_DIMS) {
                throw new IllegalArgumentException("tensor " + s.name() + " must have 1 to 4 dimensions");
            }
            GgufTensorInfo t = new GgufTensorInfo(s.name(), s.shape(), s.type(), offset);
            offset = align(offset + t.byteSize());
            tensors.add(t);
        }
        this.out = new BufferedOutputStream(Files.newOutputStream(temp), 1 << 20);
        try {
            writeHeader(metadata);
        } catch (IOException | RuntimeException e) {
            abort();
            throw e;
        }
    }

    private long align(long n) {
        return Math.ceilDiv(n, alignment) * alignment;
    }

    private void writeHeader(Map<String, GgufValue> metadata) throws IOException {
        u32(GgufParser.MAGIC);
        u32(3);
        u64(tensors.size());
        u64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            string(e.getKey());
            u32(e.getValue().type().id);
            value(e.getValue());
        }
        for (GgufTensorInfo t : tensors) {
            string(t.name());
            long[] shape = t.shape();
            u32(shape.length);
            for (long d : shape) {
                u64(d);
            }
            u32(t.type().id);
            u64(t.offset());
        }
        pad();
        written = 0;
    }

    /** Writes the next tensor's bytes (exactly its byte size), then the padding to the alignment. */
    public void writeTensor(String name, MemorySegment data) throws IOException {
        writeTensor(name, sink -> sink.write(data));
    }

    /** Consecutive slices of one tensor's bytes, for tensors produced piece by piece (larger than memory). */
    public interface Sink {
        void write(MemorySegment piece) throws IOException;
    }

    /** Produces a tensor's bytes into a {@link Sink}. */
    public interface Pieces {
        void writeTo(Sink sink) throws IOException;
    }

    /**
     * Writes the next tensor's bytes as {@code pieces} produces them (in total exactly its byte size), then the
     * padding to the alignment.
     */
    public void writeTensor(String name, Pieces pieces) throws IOException {
        if (next >= tensors.size()) {
            throw new IllegalStateException("all " + tensors.size() + " tensors are already written");
        }
        GgufTensorInfo t = tensors.get(next);
        if (!t.name().equals(name)) {
            throw new IllegalStateException("tensor " + t.name() + " must be written next, not " + name);
        }
        long[] got = new long[1];
        byte[] chunk = new byte[1 << 20];
        try {
            pieces.writeTo(piece -> {
                if (got[0] + piece.byteSize() > t.byteSize()) {
                    throw new IllegalArgumentException("tensor " + name + " needs " + t.byteSize() + " bytes, got more");
                }
                for (long off = 0; off < piece.byteSize(); off += chunk.length) {
                    int n = (int) Math.min(chunk.length, piece.byteSize() - off);
                    MemorySegment.copy(piece, ValueLayout.JAVA_BYTE, off, chunk, 0, n);
                    out.write(chunk, 0, n);
                    written += n;
                }
                got[0] += piece.byteSize();
            });
            if (got[0] != t.byteSize()) {
                throw new IllegalArgumentException("tensor " + name + " needs " + t.byteSize() + " bytes, got " + got[0]);
            }
            pad();
            next++;
        } catch (IOException | RuntimeException e) {
            abort();
            throw e;
        }
    }

    /** Finishes the file and moves it to its final name. Fails if a tensor was not written. */
    @Override
    public void close() throws IOException {
        if (failed) {
            return;
        }
        if (next != tensors.size()) {
            abort();
            throw new IllegalStateException("only " + next + " of " + tensors.size() + " tensors were written; "
                    + target.getFileName() + " was not created");
        }
        out.close();
        Files.move(temp, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private void abort() {
        failed = true;
        try {
            out.close();
        } catch (IOException | RuntimeException ignored) {
            // the write already failed; the temp file is removed below
        }
        try {
            Files.deleteIfExists(temp);
        } catch (IOException ignored) {
            // nothing more can be done; the caller sees the original failure
        }
    }

    private void pad() throws IOException {
        long n = align(written) - written;
        for (long i = 0; i < n; i++) {
            out.write(0);
        }
        written += n;
    }

    private void value(GgufValue v) throws IOException {
        switch (v.type()) {
            case UINT8, INT8 -> u8((Byte) v.value());
            case UINT16, INT16 -> u16((Short) v.value());
            case UINT32, INT32 -> u32((Integer) v.value());
            case UINT64, INT64 -> u64((Long) v.value());
            case FLOAT32 -> u32(Float.floatToRawIntBits((Float) v.value()));
            case FLOAT64 -> u64(Double.doubleToRawLongBits((Double) v.value()));
            case BOOL -> u8((Boolean) v.value() ? 1 : 0);
            case STRING -> string((String) v.value());
            case ARRAY -> array((GgufArray) v.value());
        }
    }

    private void array(GgufArray a) throws IOException {
        u32(a.elementType().id);
        u64(a.length());
        switch (a.data()) {
            case byte[] x -> {
                out.write(x);
                written += x.length;
            }
            case short[] x -> {
                for (short s : x) {
                    u16(s);
                }
            }
            case int[] x -> {
                for (int i : x) {
                    u32(i);
                }
            }
            case long[] x -> {
                for (long l : x) {
                    u64(l);
                }
            }
            case float[] x -> {
                for (float f : x) {
                    u32(Float.floatToRawIntBits(f));
                }
            }
            case double[] x -> {
                for (double d : x) {
                    u64(Double.doubleToRawLongBits(d));
                }
            }
            case boolean[] x -> {
                for (boolean b : x) {
                    u8(b ? 1 : 0);
                }
            }
            case String[] x -> {
                for (String s : x) {
                    string(s);
                }
            }
            case GgufArray[] x -> {
                for (GgufArray nested : x) {
                    array(nested);
                }
            }
            default -> throw new IllegalStateException("unexpected array data " + a.data().getClass());
        }
    }

    private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

    private void u8(int v) throws IOException {
        out.write(v);
        written += 1;
    }

    private void u16(short v) throws IOException {
        out.write(scratch.clear().putShort(v).array(), 0, 2);
        written += 2;
    }

    private void u32(int v) throws IOException {
        out.write(scratch.clear().putInt(v).array(), 0, 4);
        written += 4;
    }

    private void u64(long v) throws IOException {
        out.write(scratch.clear().putLong(v).array(), 0, 8);
        written += 8;
    }

    private void string(String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        u64(b.length);
        out.write(b);
        written += b.length;
    }
}

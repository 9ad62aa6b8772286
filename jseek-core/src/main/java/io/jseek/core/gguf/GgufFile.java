package io.jseek.core.gguf;

import io.jseek.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An open GGUF model: its metadata and its tensors, memory-mapped and never copied. A split model
 * ({@code name-00001-of-00003.gguf}, keys {@code split.*}) opens from its first shard as one model; the
 * metadata is the first shard's, the tensors are the union of all shards'.
 *
 * <p>Owns the mappings: tensors handed out are valid until {@link #close()}.
 */
public final class GgufFile implements AutoCloseable, io.jseek.core.tensor.TensorSource {
    private static final Pattern SPLIT_NAME = Pattern.compile("(.*)-(\\d{5})-of-(\\d{5})\\.gguf");

    /** One mapped file of the model. */
    private record Shard(Path path, GgufParser.Header header, MemorySegment mapping) {
    }

    private final Path path;
    private final Arena arena;
    private final List<Shard> shards;
    private final Map<String, Tensor> tensors;
    private final Map<String, GgufTensorInfo> infos;

    private GgufFile(Path path, Arena arena, List<Shard> shards) {
        this.path = path;
        this.arena = arena;
        this.shards = List.copyOf(shards);
        Map<String, Tensor> ts = new LinkedHashMap<>();
        Map<String, GgufTensorInfo> is = new LinkedHashMap<>();
        for (Shard s : shards) {
            for (GgufTensorInfo t : s.header().tensors()) {
                MemorySegment data = s.mapping().asSlice(s.header().dataStart() + t.offset(), t.byteSize());
                if (ts.put(t.name(), new Tensor(t.name(), t.type(), t.shape(), data)) != null) {
                    throw new GgufException(s.path().getFileName() + ": tensor " + t.name() + " is also in an earlier shard");
                }
                is.put(t.name(), t);
            }
        }
        this.tensors = Collections.unmodifiableMap(ts);
        this.infos = Collections.unmodifiableMap(is);
    }

    /** Opens and validates a GGUF file (or the first shard of a split model). */
    public static GgufFile open(Path path) {
        io.jseek.core.VectorApi.warnIfScalar();
        Arena arena = Arena.ofShared();
        try {
            List<Shard> shards = new ArrayList<>();
            Shard first = map(path, arena);
            shards.add(first);
            GgufMetadata md = first.header().metadata();
            int count = md.has("split.count") ? splitInt(md, "split.count") : 1;
            if (count > 1) {
                int no = splitInt(md, "split.no");
                if (no != 0) {
                    throw new GgufException(name(path) + ": this is shard " + (no + 1) + " of " + count
                            + " of a split model; open the first shard (…-00001-of-" + String.format("%05d", count) + ".gguf)");
                }
                Matcher m = SPLIT_NAME.matcher(path.getFileName().toString());
                if (!m.matches()) {
                    throw new GgufException(name(path) + ": split model with " + count
                            + " shards, but the file name is not of the form NAME-00001-of-" + String.format("%05d", count) + ".gguf");
                }
                for (int i = 1; i < count; i++) {
                    Path p = path.resolveSibling(String.format("%s-%05d-of-%05d.gguf", m.group(1), i + 1, count));
                    Shard s = map(p, arena);
                    GgufMetadata smd = s.header().metadata();
                    int sno = smd.has("split.no") ? splitInt(smd, "split.no") : -1;
                    int scount = smd.has("split.count") ? splitInt(smd, "split.count") : -1;
                    if (sno != i || scount != count) {
                        throw new GgufException(name(p) + ": expected shard " + (i + 1) + " of " + count + ", found split.no = "
                                + sno + ", split.count = " + scount);
                    }
                    shards.add(s);
                }
            }
            GgufFile file = new GgufFile(path, arena, shards);
            if (count > 1 && md.has("split.tensors.count")) {
                long expected = splitInt(md, "split.tensors.count");
                if (expected != file.tensors.size()) {
                    throw new GgufException(name(path) + ": split.tensors.count is " + expected + " but the "
                            + count + " shards hold " + file.tensors.size() + " tensors");
                }
            }
            return file;
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static int splitInt(GgufMetadata md, String key) {
        GgufValue v = md.get(key);
        return switch (v.type()) {
            case UINT16, INT16, UINT32, INT32 -> {
                long x = v.asLong();
                if (x < 0 || x > 100_000_000) {
                    throw new GgufException(md.source() + ": key " + key + " = " + x + " is out of range");
                }
                yield (int) x;
            }
            default -> throw new GgufException(md.source() + ": key " + key + " has type " + v.type() + ", expected u16");
        };
    }

    private static Shard map(Path path, Arena arena) {
        if (Files.isDirectory(path)) {
            throw new GgufException(path + ": is a directory, not a GGUF file (a Hugging Face model directory has a config.json)");
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment seg = size == 0 ? MemorySegment.ofArray(new byte[0])
                    : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new Shard(path, GgufParser.parse(name(path), seg), seg);
        } catch (NoSuchFileException e) {
            throw new GgufException(path + ": no such file");
        } catch (IOException e) {
            throw new GgufException(path + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static String name(Path p) {
        return p.getFileName() == null ? p.toString() : p.getFileName().toString();
    }

    /**
     * Off-heap memory that lives exactly as long as the file's mappings (derived copies of its tensors, such
     * as packed weights): freed by {@link #close()}. Zeroed; safe to call from any thread.
     */
    @Override
    public MemorySegment allocate(long bytes, long alignment) {
        return arena.allocate(bytes, alignment);
    }

    public Path path() {
        return path;
    }

    @Override
    public String sourceName() {
        return path.getFileName().toString();
    }

    /** The GGUF version of the (first) file. */
    public int version() {
        return shards.getFirst().header().version();
    }

    /** Where the first shard's tensor data starts: the size of its header (metadata and tensor table, padded). */
    public long dataOffset() {
        return shards.getFirst().header().dataStart();
    }

    public int alignment() {
        return shards.getFirst().header().alignment();
    }

    public GgufMetadata metadata() {
        return shards.getFirst().header().metadata();
    }

    /** Number of files the model spans (1 unless split). */
    public int shardCount() {
        return shards.size();
    }

    /** Total bytes of all shards. */
    public long fileSize() {
        long n = 0;
        for (Shard s : shards) {
            n += s.mapping().byteSize();
        }
        return n;
    }

    /** Tensor headers in file order (shard by shard). */
    public Collection<GgufTensorInfo> tensorInfos() {
        return infos.values();
    }

    public Collection<Tensor> tensors() {
        return tensors.values();
    }

    @Override
    public boolean hasTensor(String name) {
        return tensors.containsKey(name);
    }

    /** The tensor named {@code name}; a missing one is an error naming the file. */
    @Override
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new GgufException(name(path) + ": tensor " + name + " is missing");
        }
        return t;
    }

    /** Unmaps the file(s). Tensors obtained from this file must not be used afterwards. */
    @Override
    public void close() {
        arena.close();
    }
}

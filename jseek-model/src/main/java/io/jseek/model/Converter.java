package io.jseek.model;

import io.jseek.core.JseekException;
import io.jseek.core.gguf.GgufFile;
import io.jseek.core.gguf.GgufTensorInfo;
import io.jseek.core.gguf.GgufValue;
import io.jseek.core.gguf.GgufWriter;
import io.jseek.core.tensor.GgmlType;
import io.jseek.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * {@code jseek convert}: a model (a Hugging Face directory, or a GGUF file to requantize) written as a GGUF
 * file of a {@link QuantMix}, under the tensor names, shapes and metadata keys llama.cpp's converter writes
 * (MLA's {@code kv_b_proj} split into {@code attn_k_b}/{@code attn_v_b}, experts stacked), so that llama.cpp
 * loads it. Tensors are converted a slice of rows at a time on all cores and streamed to the file: memory stays
 * at one slice per thread whatever the model's size. The file appears under its name only when complete.
 */
public final class Converter {
    /** Floats decoded and quantized per slice. */
    private static final int SLICE_VALUES = 1 << 22;

    private Converter() {
    }

    /** Told about each tensor as it is written. */
    public interface Progress {
        void tensor(int index, int count, String name, GgmlType from, GgmlType to, long[] shape);
    }

    /** What was written: tensors per type and the file's size. */
    public record Summary(Map<GgmlType, Integer> types, long bytes) {
    }

    public static Summary convert(ModelFiles in, Path out, QuantMix mix, Progress progress) throws IOException {
        List<String> names = in.gguf() != null ? in.gguf().tensorInfos().stream().map(GgufTensorInfo::name).toList()
                : in.directory().ggufNames();
        List<List<Tensor>> parts = new ArrayList<>();
        List<long[]> shapes = new ArrayList<>();
        List<GgmlType> from = new ArrayList<>();
        for (String n : names) {
            List<Tensor> p = stacked(n) ? in.tensors().matrices(n) : List.of(in.tensors().tensor(n));
            parts.add(p);
            long[] first = p.get(0).shape();
            shapes.add(stacked(n) ? new long[] {first[0], first[1], p.size()} : first);
            from.add(p.get(0).type());
        }
        GgmlType[] types = mix.plan(names, shapes, in.config().blockCount(),
                in.config().moe() == null ? 0 : in.config().moe().expertCount());
        List<GgufWriter.TensorSpec> specs = new ArrayList<>();
        Map<GgmlType, Integer> counts = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            GgmlType f = from.get(i);
            if (types[i] == GgmlType.F32 && (f == GgmlType.F16 || f == GgmlType.BF16) && in.gguf() != null
                    && !QuantMix.quantizable(names.get(i), shapes.get(i))) {
                types[i] = f; // a GGUF's small float tensors stay as they are, as llama-quantize copies them
            }
            if (!types[i].canQuantize()) {
                throw new JseekException("jseek cannot write " + types[i] + " (for " + names.get(i) + ")");
            }
            specs.add(new GgufWriter.TensorSpec(names.get(i), types[i], shapes.get(i)));
            counts.merge(types[i], 1, Integer::sum);
        }
        try (GgufWriter w = new GgufWriter(out, metadata(in, mix), specs)) {
            for (int i = 0; i < names.size(); i++) {
                progress.tensor(i, names.size(), names.get(i), from.get(i), types[i], shapes.get(i));
                write(w, names.get(i), parts.get(i), types[i]);
            }
        }
        return new Summary(counts, java.nio.file.Files.size(out));
    }

    /** Routed experts: written as one 3-D tensor, read one matrix at a time (a directory's experts are never stacked in memory). */
    private static boolean stacked(String name) {
        return name.contains("_exps.");
    }

    /**
     * A GGUF of the model's metadata and no tensors (llama.cpp's converter's {@code --vocab-only}): what a tokenizer
     * needs, from a Hugging Face directory (config.json, tokenizer files, generation_config.json; no weights
     * read) or a GGUF file.
     */
    public static void vocabOnly(Path model, Path out) throws IOException {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        if (HfDirectory.isHfDirectory(model)) {
            ModelConfig c = HfConfig.read(model.resolve("config.json"));
            m.put("general.architecture", GgufValue.string(c.architecture().ggufName));
            m.put("general.type", GgufValue.string("vocab"));
            m.put("general.name", GgufValue.string(model.getFileName().toString()));
            m.putAll(c.toGguf());
            m.putAll(HfTokenizer.metadata(model).asMap());
            m.putAll(SamplingDefaults.fromDirectory(model).toGguf());
        } else {
            try (GgufFile f = GgufFile.open(model)) {
                m.putAll(f.metadata().asMap());
                m.keySet().removeIf(k -> k.startsWith("split."));
            }
        }
        new GgufWriter(out, m, List.of()).close();
    }

    /**
     * A tensor written from its parts (one, or an expert stack's matrices in order), each part's rows decoded and
     * re-encoded slice by slice on all cores (a part already of the target type is copied).
     */
    private static void write(GgufWriter w, String name, List<Tensor> parts, GgmlType to) throws IOException {
        try (Arena arena = Arena.ofShared()) {
            w.writeTensor(name, sink -> {
                for (Tensor t : parts) {
                    if (t.type() == to && t.codec() == to.codec()) {
                        sink.write(t.data());
                        continue;
                    }
                    int n = t.rowLength();
                    long rows = t.rowCount();
                    int sliceRows = (int) Math.max(1, Math.min(rows, SLICE_VALUES / n));
                    long rowBytes = to.bytesFor(n);
                    MemorySegment slice = arena.allocate(rowBytes * sliceRows, 64);
                    ThreadLocal<float[]> buffers = ThreadLocal.withInitial(() -> new float[n]);
                    for (long r0 = 0; r0 < rows; r0 += sliceRows) {
                        long first = r0;
                        int k = (int) Math.min(sliceRows, rows - r0);
                        IntStream.range(0, k).parallel().forEach(r -> {
                            float[] row = buffers.get();
                            t.dequantizeRow(first + r, row);
                            to.codec().quantize(row, 0, slice, r * rowBytes, n);
                        });
                        sink.write(slice.asSlice(0, k * rowBytes));
                    }
                }
            });
        }
    }

    /**
     * A GGUF input's metadata with the new file type; for a directory, the keys of its config (as
     * {@link ModelConfig#toGguf}) and of its tokenizer, with the model's name.
     */
    private static Map<String, GgufValue> metadata(ModelFiles in, QuantMix mix) {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        if (in.gguf() != null) {
            m.putAll(in.gguf().metadata().asMap());
            m.keySet().removeIf(k -> k.startsWith("split.")); // one file out, whatever the input's shards
        } else {
            m.put("general.architecture", GgufValue.string(in.config().architecture().ggufName));
            m.put("general.type", GgufValue.string("model"));
            m.put("general.name", GgufValue.string(in.path().getFileName().toString()));
            m.putAll(in.config().toGguf());
            m.putAll(in.tokenizerKeys().asMap());
            m.putAll(in.samplingDefaults().toGguf());
        }
        m.put("general.file_type", GgufValue.u32(mix.fileType));
        m.put("general.quantization_version", GgufValue.u32(2));
        return m;
    }
}

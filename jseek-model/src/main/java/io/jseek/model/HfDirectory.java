package io.jseek.model;

import io.jseek.core.JseekException;
import io.jseek.core.safetensors.SafetensorsFile;
import io.jseek.core.tensor.Fp8BlockCodec;
import io.jseek.core.tensor.GgmlType;
import io.jseek.core.tensor.Tensor;
import io.jseek.core.tensor.TensorSource;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A Hugging Face model directory as a {@link TensorSource}: {@code config.json} ({@link HfConfig}) and
 * {@code model.safetensors} or {@code model.safetensors.index.json} with its shards, every file memory-mapped.
 * Tensors are served under their GGUF names (docs/deepseek.md Appendix B and §9.3), as llama.cpp's converter
 * would have named them; most are views of the mapping. Three kinds are rearranged once, into memory the
 * directory owns: MLA's {@code kv_b_proj} split into {@code attn_k_b} (W_UK turned per head) and
 * {@code attn_v_b}; the routed experts' per-expert matrices stacked into {@code ffn_*_exps}; Llama's query
 * and key rows reordered for ggml's adjacent-pair RoPE. Dtypes F32, F16, BF16 and FP8 e4m3 with DeepSeek's
 * 128×128 {@code weight_scale_inv} blocks (read in place by {@link Fp8BlockCodec}; {@code kv_b_proj} is
 * dequantized to F32 before its split, as DeepSeek's reference does).
 */
public final class HfDirectory implements TensorSource, AutoCloseable {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Pattern LAYER = Pattern.compile("blk\\.(\\d+)\\.(.+)");
    /** GGUF name within a layer → Hugging Face name within {@code model.layers.L.}. */
    private static final Map<String, String> LAYER_NAMES = Map.ofEntries(
            Map.entry("attn_norm.weight", "input_layernorm.weight"),
            Map.entry("ffn_norm.weight", "post_attention_layernorm.weight"),
            Map.entry("attn_q.weight", "self_attn.q_proj.weight"),
            Map.entry("attn_q.bias", "self_attn.q_proj.bias"),
            Map.entry("attn_k.weight", "self_attn.k_proj.weight"),
            Map.entry("attn_k.bias", "self_attn.k_proj.bias"),
            Map.entry("attn_v.weight", "self_attn.v_proj.weight"),
            Map.entry("attn_v.bias", "self_attn.v_proj.bias"),
            Map.entry("attn_output.weight", "self_attn.o_proj.weight"),
            Map.entry("attn_q_a.weight", "self_attn.q_a_proj.weight"),
            Map.entry("attn_q_a_norm.weight", "self_attn.q_a_layernorm.weight"),
            Map.entry("attn_q_b.weight", "self_attn.q_b_proj.weight"),
            Map.entry("attn_kv_a_mqa.weight", "self_attn.kv_a_proj_with_mqa.weight"),
            Map.entry("attn_kv_a_norm.weight", "self_attn.kv_a_layernorm.weight"),
            Map.entry("ffn_gate.weight", "mlp.gate_proj.weight"),
            Map.entry("ffn_up.weight", "mlp.up_proj.weight"),
            Map.entry("ffn_down.weight", "mlp.down_proj.weight"),
            Map.entry("ffn_gate_inp.weight", "mlp.gate.weight"),
            Map.entry("exp_probs_b.bias", "mlp.gate.e_score_correction_bias"),
            Map.entry("ffn_gate_shexp.weight", "mlp.shared_experts.gate_proj.weight"),
            Map.entry("ffn_up_shexp.weight", "mlp.shared_experts.up_proj.weight"),
            Map.entry("ffn_down_shexp.weight", "mlp.shared_experts.down_proj.weight"),
            Map.entry("indexer.attn_q_b.weight", "self_attn.indexer.wq_b.weight"),
            Map.entry("indexer.attn_k.weight", "self_attn.indexer.wk.weight"),
            Map.entry("indexer.k_norm.weight", "self_attn.indexer.k_norm.weight"),
            Map.entry("indexer.k_norm.bias", "self_attn.indexer.k_norm.bias"),
            Map.entry("indexer.proj.weight", "self_attn.indexer.weights_proj.weight"),
            // DeepSeek-V3's MTP module (layer num_hidden_layers): its own tensors beside a regular layer's.
            Map.entry("nextn.eh_proj.weight", "eh_proj.weight"),
            Map.entry("nextn.enorm.weight", "enorm.weight"),
            Map.entry("nextn.hnorm.weight", "hnorm.weight"),
            Map.entry("nextn.embed_tokens.weight", "embed_tokens.weight"),
            Map.entry("nextn.shared_head_norm.weight", "shared_head.norm.weight"),
            Map.entry("nextn.shared_head_head.weight", "shared_head.head.weight"));

    private final Path dir;
    private final ModelConfig config;
    private final List<SafetensorsFile> files;
    /** Hugging Face tensor name → its file. */
    private final Map<String, SafetensorsFile> byName;
    private final Arena arena = Arena.ofShared();
    /** Rearranged tensors, made on first request. */
    private final Map<String, Tensor> made = new ConcurrentHashMap<>();
    /** llama3 rope scaling's frequency divisors (GGUF's rope_freqs.weight), or null. */
    private final float[] ropeFactors;

    private HfDirectory(Path dir, ModelConfig config, List<SafetensorsFile> files, Map<String, SafetensorsFile> byName) {
        this.dir = dir;
        this.config = config;
        this.files = files;
        this.byName = byName;
        this.ropeFactors = HfConfig.llama3RopeFactors(dir.resolve("config.json"), config);
    }

    /** Whether {@code path} looks like a Hugging Face model directory (a directory with a config.json). */
    public static boolean isHfDirectory(Path path) {
        return Files.isDirectory(path) && Files.isRegularFile(path.resolve("config.json"));
    }

    /** Opens the directory: its config, and every safetensors file (sharded per the index when there is one). */
    public static HfDirectory open(Path dir) {
        ModelConfig config = HfConfig.read(dir.resolve("config.json"));
        List<Path> shards = new ArrayList<>();
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.isRegularFile(index)) {
            JsonNode map;
            try {
                map = JSON.readTree(Files.readString(index)).path("weight_map");
            } catch (IOException | JacksonException e) {
                throw new JseekException(index + ": cannot read the shard index: " + e.getMessage(), e);
            }
            if (!map.isObject()) {
                throw new JseekException(index + ": weight_map is missing");
            }
            for (var e : map.properties()) {
                Path shard = dir.resolve(e.getValue().asString());
                if (!shards.contains(shard)) {
                    shards.add(shard);
                }
            }
        } else if (Files.isRegularFile(dir.resolve("model.safetensors"))) {
            shards.add(dir.resolve("model.safetensors"));
        } else {
            throw new JseekException(dir + ": neither model.safetensors nor model.safetensors.index.json is there");
        }
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
        try {
            for (Path shard : shards) {
                SafetensorsFile f = SafetensorsFile.open(shard);
                files.add(f);
                for (String name : f.entries().keySet()) {
                    byName.put(name, f);
                }
            }
        } catch (RuntimeException e) {
            files.forEach(SafetensorsFile::close);
            throw e;
        }
        return new HfDirectory(dir, config, files, byName);
    }

    public ModelConfig config() {
        return config;
    }

    /** The directory's safetensors files. */
    public int fileCount() {
        return files.size();
    }

    /** Bytes of the safetensors files. */
    public long byteSize() {
        long bytes = 0;
        for (SafetensorsFile f : files) {
            bytes += f.byteSize();
        }
        return bytes;
    }

    /**
     * Parameters and tensor types of the layers the model runs (block scales counted as the F32 tensors they
     * are; the MTP module included when the config declares it; further layers left out: {@link #unreadLayers}).
     */
    public ModelStats stats() {
        ModelStats.Counter c = new ModelStats.Counter(config);
        int tensors = 0;
        for (SafetensorsFile f : files) {
            for (SafetensorsFile.Entry e : f.entries().values()) {
                if (layerOf(e.name()) < config.blockCount() + config.nextnLayers()) {
                    c.add(e.name(), switch (e.dtype()) {
                        case F32 -> GgmlType.F32;
                        case F16 -> GgmlType.F16;
                        case BF16 -> GgmlType.BF16;
                        case F8_E4M3 -> GgmlType.FP8_E4M3;
                        default -> GgmlType.F32;
                    }, e.elements());
                    tensors++;
                }
            }
        }
        return c.stats(tensors, byteSize());
    }

    /** Layers in the checkpoint past those the model runs (its main layers and its MTP module), which are not read. */
    public int unreadLayers() {
        int most = -1;
        for (String n : byName.keySet()) {
            most = Math.max(most, layerOf(n));
        }
        return Math.max(0, most + 1 - config.blockCount() - config.nextnLayers());
    }

    /** The layer of a Hugging Face tensor name ({@code model.layers.L.…}), or −1. */
    private static int layerOf(String name) {
        if (!name.startsWith("model.layers.")) {
            return -1;
        }
        int end = name.indexOf('.', "model.layers.".length());
        return Integer.parseInt(name.substring("model.layers.".length(), end));
    }

    /** The names a layer's tensors may have, in the order {@link #ggufNames} lists them. */
    private static final List<String> LAYER_ORDER = List.of("attn_norm.weight", "attn_q.weight", "attn_q.bias",
            "attn_k.weight", "attn_k.bias", "attn_v.weight", "attn_v.bias", "attn_q_a.weight", "attn_q_a_norm.weight",
            "attn_q_b.weight", "attn_kv_a_mqa.weight", "attn_kv_a_norm.weight", "attn_k_b.weight", "attn_v_b.weight",
            "attn_output.weight", "indexer.attn_q_b.weight", "indexer.attn_k.weight", "indexer.k_norm.weight",
            "indexer.k_norm.bias", "indexer.proj.weight", "ffn_norm.weight", "ffn_gate_inp.weight", "exp_probs_b.bias",
            "ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight", "ffn_gate_shexp.weight",
            "ffn_up_shexp.weight", "ffn_down_shexp.weight", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight",
            "nextn.eh_proj.weight", "nextn.enorm.weight", "nextn.hnorm.weight", "nextn.embed_tokens.weight",
            "nextn.shared_head_norm.weight", "nextn.shared_head_head.weight");

    /**
     * The GGUF names of every tensor this directory serves for the layers the model runs: the token embedding,
     * each layer's tensors, the final norm and the output matrix (absent when the embedding is tied).
     */
    public List<String> ggufNames() {
        List<String> names = new ArrayList<>();
        names.add("token_embd.weight");
        if (ropeFactors != null) {
            names.add("rope_freqs.weight");
        }
        for (int l = 0; l < config.blockCount() + config.nextnLayers(); l++) {
            for (String within : LAYER_ORDER) {
                if (hasTensor("blk." + l + "." + within)) {
                    names.add("blk." + l + "." + within);
                }
            }
        }
        names.add("output_norm.weight");
        if (hasTensor("output.weight")) {
            names.add("output.weight");
        }
        return names;
    }

    /** The names of the tensors made by rearranging so far (copies in the directory's memory), for tests. */
    java.util.Set<String> madeTensors() {
        return java.util.Set.copyOf(made.keySet());
    }

    @Override
    public String sourceName() {
        return dir.getFileName().toString();
    }

    @Override
    public boolean hasTensor(String name) {
        if (name.equals("rope_freqs.weight")) {
            return ropeFactors != null;
        }
        String hf = hfName(name);
        String stored = hf != null ? hf : madeFrom(name);
        return stored != null && byName.containsKey(stored);
    }

    /**
     * For a tensor made by rearranging ({@link #make}), the Hugging Face tensor it is made from (for the experts,
     * expert 0's); null for any other name.
     */
    private String madeFrom(String gguf) {
        Matcher m = LAYER.matcher(gguf);
        if (!m.matches()) {
            return null;
        }
        String p = "model.layers." + m.group(1) + ".";
        String within = m.group(2);
        return switch (within) {
            case "attn_k_b.weight", "attn_v_b.weight" -> p + "self_attn.kv_b_proj.weight";
            case "attn_q.weight" -> p + "self_attn.q_proj.weight";
            case "attn_k.weight" -> p + "self_attn.k_proj.weight";
            case "ffn_gate_exps.weight", "ffn_up_exps.weight", "ffn_down_exps.weight" ->
                    p + "mlp.experts.0." + within.substring(4, within.indexOf('_', 4)) + "_proj.weight";
            default -> null;
        };
    }

    /** The Hugging Face name of a tensor served as it is stored, or null for a rearranged or unknown one. */
    private String hfName(String gguf) {
        switch (gguf) {
            case "token_embd.weight":
                return "model.embed_tokens.weight";
            case "output_norm.weight":
                return "model.norm.weight";
            case "output.weight":
                return "lm_head.weight";
            default:
                break;
        }
        Matcher m = LAYER.matcher(gguf);
        if (!m.matches()) {
            return null;
        }
        String within = m.group(2);
        if (config.architecture() == Architecture.LLAMA && (within.equals("attn_q.weight") || within.equals("attn_k.weight"))) {
            return null;
        }
        String hf = LAYER_NAMES.get(within);
        return hf == null ? null : "model.layers." + m.group(1) + "." + hf;
    }

    @Override
    public Tensor tensor(String name) {
        String hf = hfName(name);
        if (hf != null) {
            SafetensorsFile f = byName.get(hf);
            if (f == null) {
                throw new JseekException(dir + ": tensor " + hf + " (" + name + ") is missing");
            }
            return rename(hfTensor(hf), name);
        }
        return made.computeIfAbsent(name, this::make);
    }

    private Tensor make(String name) {
        if (name.equals("rope_freqs.weight") && ropeFactors != null) {
            MemorySegment m = allocate(4L * ropeFactors.length, 64);
            MemorySegment.copy(ropeFactors, 0, m, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN),
                    0, ropeFactors.length);
            return new Tensor(name, GgmlType.F32, new long[] {ropeFactors.length}, m);
        }
        String from = madeFrom(name);
        if (from == null) {
            throw new JseekException(dir + ": no tensor for " + name);
        }
        String within = name.substring(name.indexOf('.', 4) + 1);
        return switch (within) {
            case "attn_k_b.weight", "attn_v_b.weight" -> splitKvB(name, hf(from), within.startsWith("attn_k"));
            case "attn_q.weight" -> ropeRows(name, hf(from), config.headCount());
            case "attn_k.weight" -> ropeRows(name, hf(from), config.headCountKv());
            default -> stackExperts(name, from);
        };
    }

    private Tensor hf(String name) {
        if (!byName.containsKey(name)) {
            throw new JseekException(dir + ": tensor " + name + " is missing");
        }
        return hfTensor(name);
    }

    /** A tensor of the directory by its Hugging Face name; an FP8 one with its block scales. */
    private Tensor hfTensor(String name) {
        SafetensorsFile f = byName.get(name);
        SafetensorsFile.Entry e = f.entries().get(name);
        if (e.dtype() != SafetensorsFile.Dtype.F8_E4M3) {
            return f.tensor(name);
        }
        if (e.shape().length != 2) {
            throw new JseekException(dir + ": FP8 tensor " + name + " is not a matrix");
        }
        int rows = Math.toIntExact(e.shape()[0]);
        int cols = Math.toIntExact(e.shape()[1]);
        float[] scales = scales(name, rows, cols);
        return new Tensor(name, GgmlType.FP8_E4M3, new long[] {cols, rows}, f.data(e), new Fp8BlockCodec(scales, cols, rows));
    }

    /** An FP8 matrix's {@code weight_scale_inv}: ceil(rows / 128) × ceil(cols / 128) F32 scales. */
    private float[] scales(String name, int rows, int cols) {
        String scaleName = name + "_scale_inv";
        SafetensorsFile f = byName.get(scaleName);
        int b = Fp8BlockCodec.BLOCK;
        long[] want = {(rows + b - 1) / b, (cols + b - 1) / b};
        if (f == null) {
            throw new JseekException(dir + ": FP8 tensor " + name + " has no " + scaleName);
        }
        SafetensorsFile.Entry e = f.entries().get(scaleName);
        if (e.dtype() != SafetensorsFile.Dtype.F32 || !java.util.Arrays.equals(e.shape(), want)) {
            throw new JseekException(dir + ": " + scaleName + " is " + e.dtype() + " " + java.util.Arrays.toString(e.shape())
                    + ", expected F32 " + java.util.Arrays.toString(want));
        }
        return f.tensor(scaleName).dequantize();
    }

    private Tensor rename(Tensor t, String name) {
        return new Tensor(name, t.type(), t.shape(), t.data(), t.codec() instanceof Fp8BlockCodec ? t.codec() : null);
    }

    /** {@code t} as F32 in the directory's memory (an FP8 matrix before it is rearranged). */
    private Tensor toF32(Tensor t) {
        float[] v = t.dequantize();
        MemorySegment out = arena.allocate(4L * v.length, 64);
        MemorySegment.copy(v, 0, out, java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0, v.length);
        return new Tensor(t.name(), GgmlType.F32, t.shape(), out);
    }

    /**
     * W_UK or W_UV from {@code kv_b_proj} (per head: nope rows of W_UK then v rows of W_UV, each kv_lora wide):
     * {@code attn_k_b} holds each head's W_UK turned (ggml shape [nope, kv_lora, heads]), {@code attn_v_b} its
     * W_UV as stored ([kv_lora, v, heads]).
     */
    private Tensor splitKvB(String name, Tensor stored, boolean keys) {
        Tensor kvB = stored.type() == GgmlType.FP8_E4M3 ? toF32(stored) : stored;
        ModelConfig.Mla m = config.mla();
        int h = config.headCount();
        int nope = m.qkNopeHeadDim();
        int vh = m.vHeadDim();
        int kvr = m.kvLoraRank();
        int es = kvB.type().blockBytes;
        if (kvB.dim(0) != kvr || kvB.dim(1) != (long) h * (nope + vh)) {
            throw new JseekException(dir + ": " + kvB.name() + " has shape " + java.util.Arrays.toString(kvB.shape())
                    + ", expected [" + kvr + ", " + (long) h * (nope + vh) + "] (ggml order)");
        }
        MemorySegment src = kvB.data();
        if (keys) {
            MemorySegment out = arena.allocate((long) h * kvr * nope * es, 64);
            for (int head = 0; head < h; head++) {
                for (int d = 0; d < nope; d++) {
                    long row = (long) head * (nope + vh) + d;
                    for (int c = 0; c < kvr; c++) {
                        MemorySegment.copy(src, (row * kvr + c) * es, out, (((long) head * kvr + c) * nope + d) * es, es);
                    }
                }
            }
            return new Tensor(name, kvB.type(), new long[] {nope, kvr, h}, out);
        }
        MemorySegment out = arena.allocate((long) h * vh * kvr * es, 64);
        for (int head = 0; head < h; head++) {
            MemorySegment.copy(src, ((long) head * (nope + vh) + nope) * kvr * es, out, (long) head * vh * kvr * es,
                    (long) vh * kvr * es);
        }
        return new Tensor(name, kvB.type(), new long[] {kvr, vh, h}, out);
    }

    /** The routed experts' matrices like {@code expert0} (expert 0's) one after another, expert 0 first ([in, out, experts]). */
    private Tensor stackExperts(String name, String expert0) {
        List<Tensor> experts = matrices(name);
        Tensor first = experts.get(0);
        long bytes = first.data().byteSize();
        MemorySegment out = arena.allocate(bytes * experts.size(), 64);
        boolean fp8 = first.type() == GgmlType.FP8_E4M3;
        int rows = Math.toIntExact(first.dim(1));
        int cols = Math.toIntExact(first.dim(0));
        float[] scales = null;
        for (int e = 0; e < experts.size(); e++) {
            MemorySegment.copy(experts.get(e).data(), 0, out, e * bytes, bytes);
            if (fp8) {
                // Each expert's scale grid after the last: the codec starts a fresh grid every expert's rows.
                float[] s = scales(expert0.replace(".experts.0.", ".experts." + e + "."), rows, cols);
                scales = scales == null ? new float[s.length * experts.size()] : scales;
                System.arraycopy(s, 0, scales, e * s.length, s.length);
            }
        }
        return new Tensor(name, first.type(), new long[] {cols, rows, experts.size()}, out,
                fp8 ? new Fp8BlockCodec(scales, cols, rows) : null);
    }

    /**
     * The routed experts of {@code ffn_*_exps} as the checkpoint stores them, one tensor each (mapped; FP8 with
     * its own block scales): what the model multiplies by, so that no stack is copied together at load (a full
     * V3 checkpoint's experts are most of its 671 GB). The stacked form ({@link #tensor}) is for callers that
     * want one 3-D tensor.
     */
    @Override
    public List<Tensor> matrices(String name) {
        String expert0 = madeFrom(name);
        if (expert0 == null || !expert0.contains(".experts.0.")) {
            return TensorSource.super.matrices(name);
        }
        Tensor first = hf(expert0);
        List<Tensor> out = new ArrayList<>();
        for (int e = 0; e < config.moe().expertCount(); e++) {
            Tensor t = hf(expert0.replace(".experts.0.", ".experts." + e + "."));
            if (t.type() != first.type() || !java.util.Arrays.equals(t.shape(), first.shape())) {
                throw new JseekException(dir + ": " + t.name() + " differs in type or shape from expert 0's");
            }
            out.add(rename(t, name + "[" + e + "]"));
        }
        return out;
    }

    /**
     * Llama's query or key rows reordered as llama.cpp's converter does: Hugging Face pairs each head's value i
     * with i + d/2 for RoPE, ggml pairs 2i with 2i + 1, so row 2i + t of a head is Hugging Face's row t·d/2 + i.
     */
    private Tensor ropeRows(String name, Tensor stored, int heads) {
        Tensor t = stored.type() == GgmlType.FP8_E4M3 ? toF32(stored) : stored;
        long rowBytes = t.data().byteSize() / t.dim(1);
        int d = Math.toIntExact(t.dim(1) / heads);
        MemorySegment out = arena.allocate(t.data().byteSize(), 64);
        for (int head = 0; head < heads; head++) {
            for (int i = 0; i < d / 2; i++) {
                for (int half = 0; half < 2; half++) {
                    long from = (long) head * d + (long) half * d / 2 + i;
                    long to = (long) head * d + 2L * i + half;
                    MemorySegment.copy(t.data(), from * rowBytes, out, to * rowBytes, rowBytes);
                }
            }
        }
        return new Tensor(name, t.type(), t.shape(), out);
    }

    @Override
    public MemorySegment allocate(long bytes, long alignment) {
        return arena.allocate(bytes, alignment);
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
        arena.close();
    }
}

package io.jseek.cli;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.gguf.GgufMetadata;
import io.jseek.core.gguf.GgufValue;
import io.jseek.core.tensor.GgmlType;
import io.jseek.core.tokenizer.Tokenizer;
import io.jseek.model.HfDirectory;
import io.jseek.model.ModelConfig;
import io.jseek.model.ModelFiles;
import io.jseek.model.ModelStats;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jseek info MODEL}: what a model is and what it will cost to run. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show a model's architecture, hyper-parameters, tensor types, parameter count, file size "
                + "and the KV-cache memory each token of context needs.")
final class InfoCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL", description = "GGUF model file or Hugging Face directory (same as -m).")
    String positional;

    @picocli.CommandLine.Option(names = "--metadata", description = "Also list every metadata key and value.")
    boolean metadata;

    @Override
    public Integer call() {
        Path path = positional != null ? ModelOption.path(positional) : modelOption.resolve();
        PrintWriter out = spec.commandLine().getOut();
        try (ModelFiles files = ModelFiles.open(path)) {
            ModelConfig c = files.config();
            HfDirectory dir = files.directory();
            if (dir != null) {
                ModelStats s = dir.stats();
                row(out, "directory", path + " (Hugging Face: " + bytes(s.fileBytes()) + " in " + dir.fileCount()
                        + " safetensors file" + (dir.fileCount() == 1 ? "" : "s") + ")");
                describe(out, c, s, files.tokenizerKeys());
                if (dir.unreadLayers() > 0) {
                    row(out, "not read", dir.unreadLayers() + " layer(s) past num_hidden_layers (DeepSeek's MTP modules)");
                }
                return 0;
            }
            GgufFile file = files.gguf();
            ModelStats s = ModelStats.of(file, c);
            boolean embedded = positional == null && modelOption.model == null;
            row(out, "file", path + " (" + (embedded ? "embedded default model, see models/MODEL_CARD.md; " : "")
                    + bytes(s.fileBytes()) + ", GGUF v" + file.version()
                    + (file.shardCount() > 1 ? ", " + file.shardCount() + " shards" : "") + ")");
            describe(out, c, s, file.metadata());
            files.checkTensors();
            row(out, "check", "every tensor present with the shape a " + c.architecture().ggufName
                    + " model of this config needs, none unknown");
            if (metadata) {
                out.println();
                out.println("metadata:");
                for (Map.Entry<String, GgufValue> e : file.metadata().asMap().entrySet()) {
                    out.println("  " + e.getKey() + " = " + e.getValue().display(120));
                }
            }
        }
        return 0;
    }

    /** The rows every model has, from its config, its sizes and its tokenizer keys. */
    private static void describe(PrintWriter out, ModelConfig c, ModelStats s, GgufMetadata tokenizerKeys) {
        row(out, "name", c.name().isEmpty() ? "(none)" : c.name());
        row(out, "architecture", c.architecture().ggufName + switch (c.architecture()) {
            case DEEPSEEK2 -> c.mla().splitKvB() ? " (MLA, absorbed form" : " (MLA, legacy kv_b form";
            case DEEPSEEK32 -> " (MLA with the lightning indexer's sparse attention, top " + c.indexer().topK();
            case DEEPSEEK4 -> " (" + c.v4().hc() + " hyper-connection streams; window " + c.v4().window()
                    + " + compressed rows, ratios " + java.util.Arrays.toString(c.v4().compressRatios()) + "; indexer top "
                    + c.indexer().topK();
            default -> " (GQA";
        } + (c.isMoe() ? " + DeepSeekMoE)" : ", dense)"));
        row(out, "layers", c.blockCount() + (c.nextnLayers() > 0 ? " + " + c.nextnLayers()
                + " multi-token-prediction block (--spec mtp drafts with it)" : ""));
        row(out, "embedding", c.embeddingLength());
        row(out, "context length", c.contextLength());
        row(out, "vocabulary", c.vocabSize());
        row(out, "attention heads", c.headCount() + " query, " + c.headCountKv() + " key/value; head size "
                + c.keyLength() + " (key), " + c.valueLength() + " (value)");
        if (c.indexer() != null) {
            ModelConfig.Indexer i = c.indexer();
            row(out, "indexer", i.headCount() + " heads of " + i.keyLength() + ", each token attends to its top "
                    + i.topK() + " positions");
        }
        if (c.mla() != null) {
            ModelConfig.Mla m = c.mla();
            row(out, "MLA", "q_lora_rank " + m.qLoraRank() + (m.qLoraRank() == 0 ? " (plain W_q)" : "")
                    + ", kv_lora_rank " + m.kvLoraRank() + ", qk_nope " + m.qkNopeHeadDim() + ", qk_rope "
                    + m.qkRopeHeadDim() + ", v_head " + m.vHeadDim());
        }
        row(out, "rope", "dimensions " + c.ropeDimensionCount() + ", base " + c.ropeFreqBase() + scaling(c.ropeScaling()));
        row(out, "rms norm eps", c.rmsNormEps());
        row(out, "feed-forward", c.feedForwardLength() + (c.isMoe() ? " (dense layers)" : ""));
        if (c.isMoe()) {
            ModelConfig.Moe m = c.moe();
            row(out, "experts", m.expertCount() + " routed (" + m.expertUsedCount() + " per token) + "
                    + m.expertSharedCount() + " shared, each " + m.expertFeedForwardLength() + " wide; first "
                    + m.leadingDenseBlockCount() + " layer(s) dense");
            row(out, "routing", m.gating().name().toLowerCase() + (m.groupCount() > 1
                    ? ", " + m.groupCount() + " groups / top " + m.groupUsedCount() : "")
                    + (m.weightsNorm() ? ", renormalized" : "")
                    + (m.weightsScale() != 0 && m.weightsScale() != 1 ? ", scaled x" + m.weightsScale() : ""));
        }
        row(out, "parameters", count(s.totalParameters()) + (c.isMoe()
                ? " total, " + count(s.activeParameters()) + " active per token" : ""));
        StringBuilder types = new StringBuilder();
        for (Map.Entry<GgmlType, Integer> e : s.tensorTypes().entrySet()) {
            types.append(types.isEmpty() ? "" : ", ").append(e.getKey()).append(" x").append(e.getValue())
                    .append(" (").append(count(s.parametersByType().get(e.getKey()))).append(")");
        }
        row(out, "tensors", s.tensorCount() + ": " + types);
        long f16 = ModelStats.kvBytesPerToken(c, io.jseek.model.CacheType.F16);
        row(out, "KV cache", f16 + " bytes per token at F16 (" + bytes(f16 * c.contextLength()) + " for the full "
                + c.contextLength() + " context), " + ModelStats.kvBytesPerToken(c, io.jseek.model.CacheType.Q8_0)
                + " at Q8_0, " + ModelStats.kvBytesPerToken(c, io.jseek.model.CacheType.F32) + " at F32"
                + (ModelStats.kvBytesPerSequence(c, io.jseek.model.CacheType.F16) > 0 ? "; plus at most "
                + bytes(ModelStats.kvBytesPerSequence(c, io.jseek.model.CacheType.F16))
                + " per sequence at F16 for the window and compressor state, whatever its length" : ""));
        if (tokenizerKeys.has("tokenizer.ggml.model")) {
            Tokenizer t = Tokenizer.fromGguf(tokenizerKeys);
            row(out, "tokenizer", tokenizerKeys.string("tokenizer.ggml.model") + " BPE, pre-tokenizer "
                    + t.preTokenizerName() + ", " + t.vocabSize() + " tokens, BOS " + t.bos() + ", EOS " + t.eos()
                    + (t.addsBos() ? ", adds BOS" : ""));
        }
    }

    private static String scaling(ModelConfig.RopeScaling r) {
        return switch (r.type()) {
            case NONE -> "";
            case LINEAR -> ", linear scaling x" + r.factor();
            case YARN -> ", YaRN x" + r.factor() + " from " + r.originalContextLength()
                    + " (log multiplier " + r.yarnLogMultiplier() + ")";
        };
    }

    private static void row(PrintWriter out, String key, Object value) {
        out.printf("%-16s %s%n", key, value);
    }

    static String count(long n) {
        if (n >= 1_000_000_000L) {
            return String.format("%.2fB", n / 1e9);
        }
        if (n >= 1_000_000L) {
            return String.format("%.2fM", n / 1e6);
        }
        if (n >= 10_000L) {
            return String.format("%.1fK", n / 1e3);
        }
        return Long.toString(n);
    }

    static String bytes(long n) {
        if (n >= 1L << 30) {
            return String.format("%.2f GiB", n / (double) (1L << 30));
        }
        if (n >= 1L << 20) {
            return String.format("%.2f MiB", n / (double) (1L << 20));
        }
        if (n >= 1L << 10) {
            return String.format("%.1f KiB", n / 1024.0);
        }
        return n + " B";
    }
}

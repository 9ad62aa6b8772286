package io.jseek.core.tokenizer;

import io.jseek.core.JseekException;
import io.jseek.core.gguf.GgufMetadata;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A byte-level BPE tokenizer ({@code tokenizer.ggml.model = "gpt2"}), as used by every DeepSeek model and
 * the R1 distills, built from GGUF metadata. Produces the same ids as llama.cpp's {@code llama_tokenize}
 * in all four modes (add_special × parse_special) and the same pieces as {@code llama_token_to_piece}.
 *
 * <p>Encoding: the text is first cut at special-token texts (CONTROL and USER_DEFINED tokens, longest
 * first; with {@code parseSpecial} off only USER_DEFINED ones such as {@code <think>}); every remaining
 * stretch is pre-tokenized into words ({@link PreTokenizer}), each word is written in the byte-level
 * alphabet and merged by BPE (lowest merge rank first, leftmost on ties).
 *
 * <p>Immutable and safe to share between threads.
 */
public final class Tokenizer {
    /**
     * Token texts llama.cpp treats as end-of-generation besides EOS (its list in {@code llama_vocab::load}); a
     * token with one of these texts that the file does not mark CONTROL is made CONTROL, as llama.cpp does at
     * load — so Qwen's ordinary {@code </s>} is parsed as a special token and ends generation, as there.
     */
    private static final List<String> EOG_TEXTS = List.of(
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
            "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
            "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[");
    private static final int WORD_CACHE_LIMIT = 50_000;

    private final String source;
    private final String[] texts;
    private final TokenType[] types;
    private final Map<String, Integer> idOf;
    private final MergeRanks ranks;
    private final PreTokenizer preTokenizer;
    private final String preTokenizerName;
    private final int bos;
    private final int eos;
    private final int pad;
    private final boolean addBos;
    private final boolean addEos;
    private final boolean[] eog;
    /** CONTROL, USER_DEFINED and UNKNOWN tokens, longest text (in UTF-8 bytes) first. */
    private final int[] specials;
    /** Indexes into {@link #specials} by the first character of the token's text. */
    private final Map<Character, int[]> specialsByFirstChar;
    private final Map<String, int[]> wordCache = new java.util.concurrent.ConcurrentHashMap<>();

    private Tokenizer(String source, String[] texts, TokenType[] types, String[] merges, PreTokenizer pre,
                      String preName, int bos, int eos, int pad, boolean addBos, boolean addEos) {
        this.source = source;
        this.texts = texts;
        this.types = types;
        this.preTokenizer = pre;
        this.preTokenizerName = preName;
        this.bos = bos;
        this.eos = eos;
        this.pad = pad;
        this.addBos = addBos;
        this.addEos = addEos;
        this.idOf = new HashMap<>(texts.length * 2);
        for (int i = 0; i < texts.length; i++) {
            idOf.put(texts[i], i);
        }
        this.ranks = new MergeRanks(merges.length);
        for (int r = 0; r < merges.length; r++) {
            String m = merges[r];
            int space = m.indexOf(' ', 1);
            if (space < 0) {
                throw new JseekException(source + ": merge " + r + " (\"" + m + "\") is not of the form \"left right\"");
            }
            Integer left = idOf.get(m.substring(0, space));
            Integer right = idOf.get(m.substring(space + 1));
            if (left != null && right != null) {
                ranks.put(left, right, r);
            }
        }
        this.eog = new boolean[texts.length];
        if (eos >= 0) {
            eog[eos] = true;
        }
        for (String t : EOG_TEXTS) {
            Integer id = idOf.get(t);
            if (id != null) {
                eog[id] = true;
                if ((types[id].attr & TokenType.CONTROL.attr) == 0) {
                    types[id] = TokenType.CONTROL;
                }
            }
        }
        List<Integer> sp = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            if ((types[i].attr & (TokenType.CONTROL.attr | TokenType.USER_DEFINED.attr | TokenType.UNKNOWN.attr)) != 0
                    && !texts[i].isEmpty()) {
                sp.add(i);
            }
        }
        sp.sort((a, b) -> {
            int la = texts[a].getBytes(StandardCharsets.UTF_8).length;
            int lb = texts[b].getBytes(StandardCharsets.UTF_8).length;
            return la != lb ? Integer.compare(lb, la) : Integer.compare(a, b);
        });
        this.specials = sp.stream().mapToInt(Integer::intValue).toArray();
        Map<Character, List<Integer>> byFirst = new HashMap<>();
        for (int k = 0; k < specials.length; k++) {
            byFirst.computeIfAbsent(texts[specials[k]].charAt(0), c -> new ArrayList<>()).add(k);
        }
        this.specialsByFirstChar = new HashMap<>();
        byFirst.forEach((c, ks) -> specialsByFirstChar.put(c, ks.stream().mapToInt(Integer::intValue).toArray()));
    }

    /** Builds the tokenizer described by a GGUF file's {@code tokenizer.ggml.*} keys. */
    public static Tokenizer fromGguf(GgufMetadata md) {
        String src = md.source();
        String model = md.string("tokenizer.ggml.model");
        if (!model.equals("gpt2")) {
            throw new JseekException(src + ": tokenizer model \"" + model
                    + "\" is not supported (jseek supports byte-level BPE, \"gpt2\", used by DeepSeek models)");
        }
        String[] tokens = md.stringArray("tokenizer.ggml.tokens");
        if (tokens.length == 0) {
            throw new JseekException(src + ": tokenizer.ggml.tokens is empty");
        }
        TokenType[] types = new TokenType[tokens.length];
        if (md.has("tokenizer.ggml.token_type")) {
            int[] raw = md.intArray("tokenizer.ggml.token_type");
            if (raw.length != tokens.length) {
                throw new JseekException(src + ": tokenizer.ggml.token_type has " + raw.length + " entries for "
                        + tokens.length + " tokens");
            }
            for (int i = 0; i < raw.length; i++) {
                types[i] = TokenType.byId(raw[i]);
                if (types[i] == null) {
                    throw new JseekException(src + ": token " + i + " has unknown token type " + raw[i]);
                }
            }
        } else {
            Arrays.fill(types, TokenType.NORMAL);
        }
        String[] merges = md.has("tokenizer.ggml.merges") ? md.stringArray("tokenizer.ggml.merges") : new String[0];
        String preName = md.string("tokenizer.ggml.pre", "default");
        PreTokenizer pre = PreTokenizer.byGgufName(preName);
        if (pre == null) {
            throw new JseekException(src + ": unknown pre-tokenizer tokenizer.ggml.pre = \"" + preName
                    + "\" (known: " + PreTokenizer.knownNames() + ")");
        }
        int bos = tokenId(md, "tokenizer.ggml.bos_token_id", tokens.length);
        int eos = tokenId(md, "tokenizer.ggml.eos_token_id", tokens.length);
        int pad = tokenId(md, "tokenizer.ggml.padding_token_id", tokens.length);
        boolean addBos = md.bool("tokenizer.ggml.add_bos_token", pre == PreTokenizer.LLAMA3);
        boolean addEos = md.bool("tokenizer.ggml.add_eos_token", false);
        if (addBos && bos < 0) {
            throw new JseekException(src + ": tokenizer.ggml.add_bos_token is true but there is no bos_token_id");
        }
        if (addEos && eos < 0) {
            throw new JseekException(src + ": tokenizer.ggml.add_eos_token is true but there is no eos_token_id");
        }
        return new Tokenizer(src, tokens, types, merges, pre, preName, bos, eos, pad, addBos, addEos);
    }

    private static int tokenId(GgufMetadata md, String key, int n) {
        if (!md.has(key)) {
            return -1;
        }
        int id = md.u32(key);
        if (id >= n) {
            throw new JseekException(md.source() + ": " + key + " = " + id + " is not a token id (vocabulary has " + n + " tokens)");
        }
        return id;
    }

    public int vocabSize() {
        return texts.length;
    }

    /** The BOS id, or -1. */
    public int bos() {
        return bos;
    }

    /** The EOS id, or -1. */
    public int eos() {
        return eos;
    }

    /** The padding id, or -1. */
    public int pad() {
        return pad;
    }

    public boolean addsBos() {
        return addBos;
    }

    public PreTokenizer preTokenizer() {
        return preTokenizer;
    }

    /** The {@code tokenizer.ggml.pre} name this tokenizer was built with. */
    public String preTokenizerName() {
        return preTokenizerName;
    }

    /** The token's stored text (in the byte-level alphabet for normal tokens). */
    public String text(int id) {
        return texts[checkId(id)];
    }

    public TokenType type(int id) {
        return types[checkId(id)];
    }

    /** True for tokens that end generation (EOS and the usual end-of-turn tokens). */
    public boolean isEndOfGeneration(int id) {
        return eog[checkId(id)];
    }

    /** The id of a token whose stored text is exactly {@code text}, or -1. */
    public int id(String text) {
        Integer id = idOf.get(text);
        return id == null ? -1 : id;
    }

    private int checkId(int id) {
        if (id < 0 || id >= texts.length) {
            throw new JseekException("token id " + id + " is out of range (vocabulary has " + texts.length + " tokens)");
        }
        return id;
    }

    /**
     * Tokenizes {@code text}.
     *
     * @param addSpecial   add BOS (and EOS) as the model asks ({@code add_bos_token}, {@code add_eos_token})
     * @param parseSpecial treat CONTROL token texts in the text (e.g. {@code <｜User｜>}) as those tokens;
     *                     USER_DEFINED ones (e.g. {@code <think>}) are always recognised
     */
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList out = new IntList(text.length() / 3 + 4);
        if (addSpecial && addBos) {
            out.add(bos);
        }
        for (Object fragment : splitSpecial(text, parseSpecial)) {
            if (fragment instanceof Integer id) {
                out.add(id);
            } else {
                encodeOrdinary((String) fragment, out);
            }
        }
        if (addSpecial && addEos) {
            out.add(eos);
        }
        return out.toArray();
    }

    /**
     * Cuts the text at special-token texts: a list of Strings (ordinary text) and Integers (token ids).
     * As in llama.cpp, each special token in turn (longest first) splits every text fragment left so far;
     * only the tokens that occur in the text at all are tried (real vocabularies have hundreds).
     */
    private List<Object> splitSpecial(String text, boolean parseSpecial) {
        List<Object> fragments = new ArrayList<>();
        if (text.isEmpty()) {
            return fragments;
        }
        fragments.add(text);
        boolean[] present = specialsPresent(text);
        for (int k = 0; k < specials.length; k++) {
            int id = specials[k];
            if (!present[k] || (!parseSpecial && types[id] != TokenType.USER_DEFINED)) {
                continue;
            }
            String special = texts[id];
            List<Object> next = new ArrayList<>(fragments.size() + 4);
            for (Object f : fragments) {
                if (!(f instanceof String s) || !s.contains(special)) {
                    next.add(f);
                    continue;
                }
                int from = 0;
                int at;
                while ((at = s.indexOf(special, from)) >= 0) {
                    if (at > from) {
                        next.add(s.substring(from, at));
                    }
                    next.add(id);
                    from = at + special.length();
                }
                if (from < s.length()) {
                    next.add(s.substring(from));
                }
            }
            fragments = next;
        }
        return fragments;
    }

    /** Which of {@link #specials} occur anywhere in {@code text}: one pass, looking only where a first character matches. */
    private boolean[] specialsPresent(String text) {
        boolean[] present = new boolean[specials.length];
        for (int i = 0; i < text.length(); i++) {
            int[] candidates = specialsByFirstChar.get(text.charAt(i));
            if (candidates != null) {
                for (int k : candidates) {
                    if (!present[k] && text.startsWith(texts[specials[k]], i)) {
                        present[k] = true;
                    }
                }
            }
        }
        return present;
    }

    private void encodeOrdinary(String text, IntList out) {
        int[] cps = text.codePoints().toArray();
        int[] words = preTokenizer.split(cps);
        int start = 0;
        for (int len : words) {
            String word = new String(cps, start, len);
            start += len;
            int[] ids = wordCache.get(word);
            if (ids == null) {
                byte[] utf8 = word.getBytes(StandardCharsets.UTF_8);
                ids = bpe(ByteLevel.encode(utf8, 0, utf8.length));
                if (wordCache.size() < WORD_CACHE_LIMIT) {
                    wordCache.put(word, ids);
                }
            }
            for (int id : ids) {
                out.add(id);
            }
        }
    }

    /** Byte-pair encodes one word given in the byte-level alphabet. */
    private int[] bpe(String word) {
        if (preTokenizer.ignoreMerges) {
            Integer whole = idOf.get(word);
            if (whole != null) {
                return new int[] {whole};
            }
        }
        int n = word.length();
        int[] id = new int[n];
        int[] len = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            Integer t = idOf.get(String.valueOf(word.charAt(i)));
            id[i] = t == null ? -1 : t;
            len[i] = 1;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        BigramHeap heap = new BigramHeap(n);
        for (int i = 0; i + 1 < n; i++) {
            offer(heap, id, len, i, i + 1);
        }
        while (!heap.isEmpty()) {
            int left = heap.left();
            int right = heap.right();
            int size = heap.size();
            heap.pop();
            // Stale if either side was merged away or grew since the pair was queued.
            if (len[left] == 0 || len[right] == 0 || len[left] + len[right] != size) {
                continue;
            }
            len[left] += len[right];
            len[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = left;
            }
            Integer merged = idOf.get(word.substring(left, left + len[left]));
            id[left] = merged == null ? -1 : merged;
            if (prev[left] >= 0) {
                offer(heap, id, len, prev[left], left);
            }
            if (next[left] >= 0) {
                offer(heap, id, len, left, next[left]);
            }
        }
        IntList out = new IntList(n);
        for (int i = 0; i >= 0 && i < n; i = next[i]) {
            if (len[i] == 0) {
                continue;
            }
            if (id[i] >= 0) {
                out.add(id[i]);
            } else {
                // Not a token: fall back to single-character tokens, dropping characters that have none.
                for (int k = i; k < i + len[i]; k++) {
                    Integer t = word.charAt(k) < 0x80 ? idOf.get(String.valueOf(word.charAt(k))) : null;
                    if (t != null) {
                        out.add(t);
                    }
                }
            }
        }
        return out.toArray();
    }

    private void offer(BigramHeap heap, int[] id, int[] len, int left, int right) {
        if (id[left] < 0 || id[right] < 0) {
            return;
        }
        int rank = ranks.get(id[left], id[right]);
        if (rank >= 0) {
            heap.push(rank, left, right, len[left] + len[right]);
        }
    }

    /**
     * The bytes token {@code id} stands for, as llama_token_to_piece gives them: normal tokens are decoded
     * from the byte-level alphabet; CONTROL/UNKNOWN tokens render their text only when {@code special} is
     * set; USER_DEFINED tokens always render their text; UNUSED tokens render nothing.
     */
    public byte[] piece(int id, boolean special) {
        TokenType t = type(id);
        String text = texts[id];
        switch (t) {
            case CONTROL, UNKNOWN -> {
                return special ? text.getBytes(StandardCharsets.UTF_8) : new byte[0];
            }
            case USER_DEFINED -> {
                return text.getBytes(StandardCharsets.UTF_8);
            }
            case NORMAL -> {
                ByteArrayOutputStream out = new ByteArrayOutputStream(text.length());
                text.codePoints().forEach(cp -> {
                    int b = ByteLevel.decode(cp);
                    if (b >= 0) {
                        out.write(b);
                    } else {
                        // llama.cpp's rendering of a character outside the byte-level alphabet.
                        StringBuilder sb = new StringBuilder("[UNK_BYTE_0x");
                        for (byte x : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                            sb.append(String.format("%02x", x & 0xFF));
                        }
                        out.writeBytes(sb.append(text).append(']').toString().getBytes(StandardCharsets.UTF_8));
                    }
                });
                return out.toByteArray();
            }
            case BYTE -> {
                int b = text.codePointCount(0, text.length()) == 1 ? ByteLevel.decode(text.codePointAt(0)) : -1;
                return b >= 0 ? new byte[] {(byte) b} : new byte[0];
            }
            default -> {
                return new byte[0];
            }
        }
    }

    private volatile byte[][] pieces;

    /**
     * Every token's {@link #piece} without special-token text, computed once (shared: do not modify).
     */
    public byte[][] pieces() {
        byte[][] p = pieces;
        if (p == null) {
            p = new byte[texts.length][];
            for (int id = 0; id < p.length; id++) {
                p[id] = piece(id, false);
            }
            pieces = p;
        }
        return p;
    }

    /** Decodes a whole sequence to text (malformed UTF-8 becomes U+FFFD). */
    public String decode(int[] ids, boolean special) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int id : ids) {
            out.writeBytes(piece(id, special));
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** A decoder for streaming generation: text comes out only in whole UTF-8 characters. */
    public TokenDecoder streamingDecoder(boolean special) {
        return new TokenDecoder(this, special);
    }

    @Override
    public String toString() {
        return "Tokenizer[" + source + ", " + texts.length + " tokens, pre=" + preTokenizerName + "]";
    }
}

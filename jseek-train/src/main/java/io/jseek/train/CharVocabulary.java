package io.jseek.train;

import java.util.ArrayList;
import java.util.List;

/**
 * A character-level vocabulary for small trained models, written into GGUF as a proper byte-level BPE
 * vocabulary with no merges (so jseek and llama.cpp tokenize text into exactly these tokens): the
 * special tokens first (BOS, EOS, PAD as CONTROL; the reasoning and answer tags as USER_DEFINED, so they
 * are parsed in text and shown in output), then one token per printable ASCII character and newline.
 */
public final class CharVocabulary {
    public static final String BOS = "<｜begin▁of▁sentence｜>";
    public static final String EOS = "<｜end▁of▁sentence｜>";
    public static final String PAD = "<｜▁pad▁｜>";
    public static final List<String> TAGS = List.of("<think>", "</think>", "<answer>", "</answer>");
    /** GGUF token types. */
    static final int NORMAL = 1;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;

    private final List<String> tokens = new ArrayList<>();
    private final List<Integer> types = new ArrayList<>();
    private final java.util.Map<String, Integer> ids = new java.util.HashMap<>();

    public CharVocabulary() {
        add(BOS, CONTROL);
        add(EOS, CONTROL);
        add(PAD, CONTROL);
        for (String tag : TAGS) {
            add(tag, USER_DEFINED);
        }
        add(String.valueOf(byteLevel('\n')), NORMAL);
        for (char ch = 32; ch < 127; ch++) {
            add(String.valueOf(byteLevel(ch)), NORMAL);
        }
    }

    private void add(String token, int type) {
        ids.put(token, tokens.size());
        tokens.add(token);
        types.add(type);
    }

    /** GPT-2's byte-level alphabet for an ASCII byte: printable characters stand for themselves. */
    static char byteLevel(int b) {
        if (b >= 33 && b <= 126) {
            return (char) b;
        }
        // Bytes 0–32 map to U+0100 + b (space → Ġ, newline → Ċ), as in GPT-2's bytes_to_unicode.
        return (char) (256 + b);
    }

    public int size() {
        return tokens.size();
    }

    public int bos() {
        return 0;
    }

    public int eos() {
        return 1;
    }

    public int pad() {
        return 2;
    }

    /** The id of a tag or special token. */
    public int special(String text) {
        Integer id = ids.get(text);
        if (id == null || types.get(id) == NORMAL) {
            throw new IllegalArgumentException("not a special token: " + text);
        }
        return id;
    }

    /** Token ids of text: tags as their tokens, every other character (printable ASCII or newline) as one token. */
    public int[] encode(String text) {
        List<Integer> out = new ArrayList<>();
        int i = 0;
        outer:
        while (i < text.length()) {
            for (String tag : TAGS) {
                if (text.startsWith(tag, i)) {
                    out.add(ids.get(tag));
                    i += tag.length();
                    continue outer;
                }
            }
            char ch = text.charAt(i);
            Integer id = (ch == '\n' || (ch >= 32 && ch < 127)) ? ids.get(String.valueOf(byteLevel(ch))) : null;
            if (id == null) {
                throw new IllegalArgumentException("character U+" + Integer.toHexString(ch) + " is not in the vocabulary");
            }
            out.add(id);
            i++;
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The text of ids (special tokens CONTROL-typed are left out). */
    public String decode(int[] ids) {
        StringBuilder b = new StringBuilder();
        for (int id : ids) {
            int type = types.get(id);
            String t = tokens.get(id);
            if (type == CONTROL) {
                continue;
            }
            if (type == USER_DEFINED) {
                b.append(t);
            } else {
                char ch = t.charAt(0);
                b.append(ch >= 256 ? (char) (ch - 256) : ch);
            }
        }
        return b.toString();
    }

    List<String> tokens() {
        return tokens;
    }

    List<Integer> types() {
        return types;
    }
}

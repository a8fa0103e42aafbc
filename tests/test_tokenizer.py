"""Word and character tokenizers: splitting, vocabulary, unknown words, readable detokenizing."""
from __future__ import annotations

from models.tokenizer import EOS, EOS_ID, PAD_ID, UNK, UNK_ID, CharTokenizer, Tokenizer, WordTokenizer

TEXT = 'Lily\'s dog ran. "Hello," she said. Tom didn’t see 3 cats!\n<|endoftext|>\nThe end.'


def test_word_tokens():
    tok = WordTokenizer.build(TEXT, min_count=1)
    assert tok.tokens(TEXT) == [
        "lily's", "dog", "ran", ".", '"', "hello", ",", '"', "she", "said", ".",
        "tom", "didn't", "see", "3", "cats", "!", EOS, "the", "end", ".",
    ]


def test_specials_have_fixed_ids():
    tok = WordTokenizer.build(TEXT)
    assert (tok.vocab.pad_id, tok.vocab.unk_id, tok.vocab.eos_id) == (PAD_ID, UNK_ID, EOS_ID)


def test_vocab_min_count_and_max_size():
    text = "a a a b b b c c d " * 1
    tok = WordTokenizer.build(text, min_count=2)
    assert tok.vocab.itos[3:] == ["a", "b", "c"]
    assert WordTokenizer.build(text, min_count=1, max_size=5).vocab.itos[3:] == ["a", "b"]


def test_unknown_words_and_oov_rate():
    tok = WordTokenizer.build("the cat sat . " * 3)
    ids = tok.encode("the dog sat")
    assert ids[1] == UNK_ID
    assert tok.decode(ids) == f"the {UNK} sat"
    assert tok.oov_rate("the dog sat") == 1 / 3
    assert tok.oov_rate("") == 0.0


def test_readable_detokenizer():
    said = 'She said, "Hello," and left (slowly)!'
    tok = WordTokenizer.build(TEXT + said, min_count=1)
    assert tok.decode(tok.encode("Lily's dog ran.")) == "lily's dog ran."
    assert tok.decode(tok.encode(said)) == 'she said, "hello," and left (slowly)!'


def test_markup_and_emoji_are_plain_tokens():
    tok = WordTokenizer.build("a b c")
    toks = tok.tokens("<script>alert(1)</script> 🙂 日本")
    assert "<" in toks and "script" in toks and "🙂" in toks and "日本" in toks


def test_char_tokenizer_roundtrip():
    text = "First Citizen:\nBefore we proceed"
    tok = CharTokenizer.build(text)
    assert tok.decode(tok.encode(text)) == text
    assert len(tok) == 3 + len(set(text))
    assert tok.encode("a<|endoftext|>")[-1] == EOS_ID


def test_dict_roundtrip():
    for tok in (WordTokenizer.build(TEXT, min_count=1), CharTokenizer.build(TEXT)):
        back = Tokenizer.from_dict(tok.to_dict())
        assert type(back) is type(tok) and back.vocab.itos == tok.vocab.itos
        assert back.encode(TEXT) == tok.encode(TEXT)

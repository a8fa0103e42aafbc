"""A short text the project wrote itself (not corpus text): every shipped model's perplexity on it
is recorded in the manifest, and the tests check that the checkpoints still reproduce it."""

CHECK_TEXT = """Once upon a time, there was a small dog named Max. Max liked to run in the big green park.
One day, Max saw a red ball under a tree. He wanted to play with it, so he ran to the tree.
A little girl named Sue was sitting near the tree. She said, "Is this your ball, Max?"
Max wagged his tail and barked. Sue threw the ball, and Max ran very fast to get it.
They played all day. When the sun went down, Sue said, "I have to go home now. Goodbye, Max!"
Max was sad, but he knew he would see his new friend again tomorrow. He went home and slept.
<|endoftext|>
Tom had a toy boat. He took it to the pond with his mom. The boat was blue and shiny.
"Look, Mom, my boat can swim!" Tom said. His mom smiled and said, "Be careful, Tom."
The wind was strong and the boat went far away. Tom started to cry. A kind duck swam to the boat
and pushed it back to Tom. Tom was so happy. He said, "Thank you, duck!" and they became friends.
"""

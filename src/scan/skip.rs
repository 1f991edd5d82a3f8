//! Skipping whole values without decoding them: leniently (as serde_json
//! reads a `RawValue`) or strictly with a depth limit (as it skips a value
//! through a visitor).

use super::{Cursor, SyntaxError};

/// Why a strict skip stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Invalid JSON.
    Syntax(SyntaxError),
    /// A container nested deeper than allowed.
    TooDeep,
}

impl From<SyntaxError> for Skip {
    fn from(e: SyntaxError) -> Self {
        Skip::Syntax(e)
    }
}

impl Cursor<'_> {
    /// Skips one value leniently (how serde_json reads a `RawValue`), with
    /// any nesting; returns how deep it nests containers (a scalar is 0).
    /// `stack` is scratch space for the open containers.
    pub fn skip_raw(&mut self, stack: &mut Vec<u8>) -> Result<usize, SyntaxError> {
        match self.peek_ws() {
            Some(b @ (b'{' | b'[')) => {
                if self.peek_container_end(b) {
                    return Ok(1);
                }
            }
            Some(b) => return self.scalar(b, false).map(|()| 0),
            None => return Err(self.error()),
        }
        stack.clear();
        let mut max = 0;
        loop {
            // A value is expected here.
            let Some(b) = self.peek_ws() else { return Err(self.error()) };
            match b {
                b'{' | b'[' => {
                    self.pos += 1;
                    stack.push(b);
                    max = max.max(stack.len());
                    let empty = if b == b'{' {
                        match self.peek_ws() {
                            Some(b'}') => true,
                            Some(b'"') => {
                                self.string(false)?;
                                self.expect(b':')?;
                                false
                            }
                            _ => return Err(self.error()),
                        }
                    } else {
                        self.peek_ws() == Some(b']')
                    };
                    if !empty {
                        continue;
                    }
                    self.pos += 1;
                    stack.pop();
                }
                _ => self.scalar(b, false)?,
            }
            // After a value: close containers or move to the next element.
            loop {
                let Some(&open) = stack.last() else { return Ok(max) };
                match self.peek_ws() {
                    Some(b',') => {
                        self.pos += 1;
                        if open == b'{' {
                            if self.peek_ws() != Some(b'"') {
                                return Err(self.error());
                            }
                            self.string(false)?;
                            self.expect(b':')?;
                        }
                        break;
                    }
                    Some(b'}') if open == b'{' => {
                        self.pos += 1;
                        stack.pop();
                    }
                    Some(b']') if open == b'[' => {
                        self.pos += 1;
                        stack.pop();
                    }
                    _ => return Err(self.error()),
                }
            }
        }
    }

    /// At `{` or `[`: consumes an empty `{}` or `[]` (with inner whitespace)
    /// and returns true; otherwise consumes nothing.
    #[inline]
    fn peek_container_end(&mut self, open: u8) -> bool {
        let close = if open == b'{' { b'}' } else { b']' };
        let at = self.pos;
        self.pos += 1;
        if self.peek_ws() == Some(close) {
            self.pos += 1;
            return true;
        }
        self.pos = at;
        false
    }

    /// Skips one value strictly (how serde_json reads a value into a
    /// visitor that ignores it), failing with `Err(None)`-style
    /// [`Skip::TooDeep`] when a container opens at a depth above `max_depth`.
    /// `depth` is the depth a container at this position would have.
    pub fn skip_strict(&mut self, depth: usize, max_depth: usize) -> Result<(), Skip> {
        let Some(b) = self.peek_ws() else { return Err(Skip::Syntax(self.error())) };
        match b {
            b'{' | b'[' => {
                if depth > max_depth {
                    return Err(Skip::TooDeep);
                }
                self.pos += 1;
                if b == b'{' {
                    self.skip_members(depth, max_depth)
                } else {
                    self.skip_elements(depth, max_depth)
                }
            }
            _ => self.scalar(b, true).map_err(Skip::Syntax),
        }
    }

    /// Skips an object's members strictly after its `{`; members' values
    /// are one level deeper than `depth`.
    pub fn skip_members(&mut self, depth: usize, max_depth: usize) -> Result<(), Skip> {
        if !self.first_member()? {
            return Ok(());
        }
        loop {
            self.key()?;
            self.skip_strict(depth + 1, max_depth)?;
            if !self.next_member()? {
                return Ok(());
            }
        }
    }

    /// Skips an array's elements strictly after its `[`; elements are one
    /// level deeper than `depth`.
    pub fn skip_elements(&mut self, depth: usize, max_depth: usize) -> Result<(), Skip> {
        if self.peek_ws() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_strict(depth + 1, max_depth)?;
            match self.peek_ws() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Skip::Syntax(self.error())),
            }
        }
    }
}

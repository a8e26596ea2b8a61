//! The paginated operations as lazy [`Stream`]s: a page is fetched only when the stream is polled
//! past the previous one, each request goes through the client's retry policy, and the stream
//! ends exactly after the last page. A server's pages are not trusted to end: a cursor seen
//! before, or more pages than the client's cap, ends the stream with [`Error::Pagination`].

use crate::error::Error;
use crate::types::{
    CustomerProfile, CustomerSearchByDetailFieldRequest, CustomerSearchByDetailFieldResponse,
    PaginatedProducts, Product,
};
use crate::Client;
use futures::stream::{self, Stream, TryStreamExt};
use std::collections::HashSet;

/// The most pages one listing fetches unless the client says otherwise.
pub(crate) const DEFAULT_MAX_PAGES: u64 = 100_000;

/// Where a product listing stands between two pages.
enum Cursor {
    First,
    Next(String),
    /// The last page's cursor was given before: the listing ends with this error, after that
    /// page.
    Repeated(Error),
    Done,
}

/// What a listing has fetched: the pages, and the cursors it was given (each may come once).
struct Fetched {
    operation: &'static str,
    pages: u64,
    max_pages: u64,
    cursors: HashSet<String>,
}

impl Fetched {
    fn new(client: &Client, operation: &'static str) -> Self {
        Self {
            operation,
            pages: 0,
            max_pages: client.config().max_pages,
            cursors: HashSet::new(),
        }
    }

    /// Counts the page about to be fetched, or stops at the cap.
    fn next_page(&mut self) -> Result<(), Error> {
        if self.pages >= self.max_pages {
            return Err(self.stopped(format!(
                "the server has more than {} pages (ClientBuilder::max_pages)",
                self.max_pages
            )));
        }
        self.pages += 1;
        Ok(())
    }

    /// A cursor the server gave, refused if it gave it before.
    fn cursor(&mut self, cursor: &str) -> Result<(), Error> {
        if self.cursors.insert(cursor.to_string()) {
            return Ok(());
        }
        Err(self.stopped(format!(
            "page {} gave a cursor an earlier page gave ({} characters), so its pages would repeat",
            self.pages,
            cursor.chars().count()
        )))
    }

    fn stopped(&self, reason: String) -> Error {
        Error::Pagination {
            operation: self.operation,
            pages: self.pages,
            reason,
        }
    }
}

/// Where a customer search stands between two pages.
enum PageNumber {
    Next(i64),
    Done,
}

impl Client {
    /// Every page of `GET /api/v1/product`, following `nextPageCursor` until a page has none.
    /// `limit` is the page size (1–100; the API's default is 100).
    ///
    /// ```no_run
    /// # async fn run(client: atlassian_csm::Client) -> Result<(), atlassian_csm::Error> {
    /// use futures::TryStreamExt;
    /// let pages: Vec<_> = client.product_pages(Some(100)).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn product_pages(
        &self,
        limit: Option<i64>,
    ) -> impl Stream<Item = Result<PaginatedProducts, Error>> + Send + '_ {
        let fetched = Fetched::new(self, "get_products");
        stream::try_unfold(
            (Cursor::First, fetched),
            move |(cursor, mut fetched)| async move {
                let mut request = self.get_products();
                if let Some(limit) = limit {
                    request = request.limit(limit);
                }
                match cursor {
                    Cursor::Done => return Ok(None),
                    Cursor::Repeated(error) => return Err(error),
                    Cursor::First => {}
                    Cursor::Next(cursor) => request = request.cursor(cursor),
                }
                fetched.next_page()?;
                let page = request.send().await?.into_inner();
                let next = match page.next_page_cursor.as_deref() {
                    Some(next) if !next.is_empty() => match fetched.cursor(next) {
                        Ok(()) => Cursor::Next(next.to_string()),
                        Err(error) => Cursor::Repeated(error),
                    },
                    _ => Cursor::Done,
                };
                Ok(Some((page, (next, fetched))))
            },
        )
    }

    /// Every product, one at a time, fetched page by page (see [`product_pages`](Self::product_pages)).
    ///
    /// ```no_run
    /// # async fn run(client: atlassian_csm::Client) -> Result<(), atlassian_csm::Error> {
    /// use futures::TryStreamExt;
    /// let mut products = std::pin::pin!(client.products(None));
    /// while let Some(product) = products.try_next().await? {
    ///     println!("{}", product.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn products(
        &self,
        limit: Option<i64>,
    ) -> impl Stream<Item = Result<Product, Error>> + Send + '_ {
        self.product_pages(limit)
            .map_ok(|page| stream::iter(page.results.into_iter().map(Ok)))
            .try_flatten()
    }

    /// Every page of `POST /api/v1/customer/search-by-detail-field`, from page 1 until the API
    /// says `isLast` (or a page comes back short or empty). `max_results` is the page size.
    ///
    /// `search` is a [`CustomerSearchByDetailFieldRequest`] or its builder; one that cannot be
    /// built is the stream's first (and only) item, as [`Error::InvalidInput`].
    pub fn customer_search_pages<S>(
        &self,
        search: S,
        max_results: Option<i64>,
    ) -> impl Stream<Item = Result<CustomerSearchByDetailFieldResponse, Error>> + Send + '_
    where
        S: TryInto<CustomerSearchByDetailFieldRequest>,
        S::Error: std::fmt::Display + 'static,
    {
        let search = search
            .try_into()
            .map_err(|error| crate::input::ConversionError::at("body", error));
        let fetched = Fetched::new(self, "search_by_detail_field");
        stream::try_unfold(
            (PageNumber::Next(1), fetched),
            move |(page_number, mut fetched)| {
                let search = search.clone();
                async move {
                    let search = search?;
                    let PageNumber::Next(number) = page_number else {
                        return Ok(None);
                    };
                    fetched.next_page()?;
                    let mut request = self.search_by_detail_field().page(number).body(search);
                    if let Some(max_results) = max_results {
                        request = request.max_results(max_results);
                    }
                    let page = request.send().await?.into_inner();
                    let page_size = max_results.or(page.max_results).unwrap_or(i64::MAX);
                    let short = (page.customers.len() as i64) < page_size;
                    let last = page.is_last.unwrap_or(short) || page.customers.is_empty();
                    let next = if last {
                        PageNumber::Done
                    } else {
                        PageNumber::Next(number + 1)
                    };
                    Ok(Some((page, (next, fetched))))
                }
            },
        )
    }

    /// Every customer matching the search, one at a time (see
    /// [`customer_search_pages`](Self::customer_search_pages)).
    pub fn search_customers<S>(
        &self,
        search: S,
        max_results: Option<i64>,
    ) -> impl Stream<Item = Result<CustomerProfile, Error>> + Send + '_
    where
        S: TryInto<CustomerSearchByDetailFieldRequest>,
        S::Error: std::fmt::Display + 'static,
    {
        self.customer_search_pages(search, max_results)
            .map_ok(|page| stream::iter(page.customers.into_iter().map(Ok)))
            .try_flatten()
    }
}
